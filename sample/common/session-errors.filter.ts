import { Catch, ConflictException, HttpException, UnauthorizedException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { SessionConflictError, SessionError, SessionInvalidatedError, SessionNotFoundError } from 'nestjs-pg-session';

/**
 * Maps the library's errors that reach a controller to HTTP answers: a session
 * deleted while the request ran is a 401, a conflict that outlived the retries is
 * a 409. Everything else goes to Nest's default handling.
 */
@Catch(SessionError)
export class SessionErrorsFilter extends BaseExceptionFilter implements ExceptionFilter {
  override catch(error: SessionError, host: ArgumentsHost): void {
    super.catch(this.toHttp(error), host);
  }

  private toHttp(error: SessionError): HttpException | SessionError {
    if (error instanceof SessionNotFoundError || error instanceof SessionInvalidatedError) {
      return new UnauthorizedException('The session ended while the request ran.');
    }
    if (error instanceof SessionConflictError) return new ConflictException('Too many concurrent changes; try again.');
    return error;
  }
}
