import { Injectable, Optional, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SessionService } from '../session/session.service.js';
import type { Session } from '../session/session.interface.js';
import { loadRequestSession } from './request-session.js';
import { SessionCookieService } from './session-cookie.service.js';
import { assertSessionModuleReachable } from './session-module-reach.js';

/**
 * Lets a request through only when it carries a valid session: answers 401 when
 * the cookie is missing, malformed or badly signed, or the session is unknown,
 * expired or revoked. The session is loaded at most once per request and shared
 * with `@Session()` parameters and {@link RequireAttributeGuard}. A database
 * failure propagates (500); it is never turned into a 401.
 *
 * Apply it with `@UseGuards(SessionGuard)` on a controller or handler, or
 * globally with `APP_GUARD`. Its members are `protected`, so it can be extended:
 *
 * @example
 * ```ts
 * @Injectable()
 * export class TenantSessionGuard extends SessionGuard {
 *   // 403 unless the session belongs to a tenant
 *   protected override canActivateSession(session: Session): boolean {
 *     return session.groupId !== null;
 *   }
 * }
 * ```
 */
@Injectable()
export class SessionGuard implements CanActivate {
  // @Optional: when SessionModule is out of reach, say how to fix it rather than fail with Nest's message.
  constructor(
    @Optional() protected readonly sessionService: SessionService,
    @Optional() protected readonly cookieService: SessionCookieService,
  ) {
    assertSessionModuleReachable(new.target.name, sessionService, cookieService);
  }

  /** 401 without a valid session; otherwise the answer of {@link SessionGuard.canActivateSession}. */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const session = await this.getSession(context);
    if (session === null) return this.throwUnauthorized(context);
    return this.canActivateSession(session, context);
  }

  /**
   * Decides about a request that has a valid session. Returning `false` answers
   * 403 (Nest's `ForbiddenException`); throw to answer otherwise.
   * @default true
   */
  protected canActivateSession(session: Session, context: ExecutionContext): boolean | Promise<boolean> {
    return true;
  }

  /** The request being handled (HTTP). */
  protected getRequest(context: ExecutionContext): unknown {
    return context.switchToHttp().getRequest();
  }

  /** The request's session, or null for "no session"; loaded once per request. */
  protected getSession(context: ExecutionContext): Promise<Session | null> {
    return loadRequestSession(this.getRequest(context), { sessionService: this.sessionService, cookieService: this.cookieService });
  }

  /** Answers a request without a valid session. @default throws `UnauthorizedException` (401). */
  protected throwUnauthorized(context: ExecutionContext): never {
    throw new UnauthorizedException('A valid session is required.');
  }
}
