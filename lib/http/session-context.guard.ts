import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SessionService } from '../session/session.service.js';
import { bindRequestSessionSource, type RequestSessionSource } from './request-session.js';
import { SessionCookieService } from './session-cookie.service.js';

/**
 * Attached by `@Session()` to the handlers that use it: tells the parameter
 * decorator (which has no injector) how to load the request's session. Always
 * lets the request through and loads nothing itself.
 * @internal
 */
@Injectable()
export class SessionContextGuard implements CanActivate {
  private readonly source: RequestSessionSource;

  constructor(sessionService: SessionService, cookieService: SessionCookieService) {
    this.source = { sessionService, cookieService };
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() === 'http') bindRequestSessionSource(context.switchToHttp().getRequest(), this.source);
    return true;
  }
}
