import { Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SessionService } from '../session/session.service.js';
import { bindRequestSessionSource, type RequestSessionSource } from './request-session.js';
import { SessionCookieService } from './session-cookie.service.js';
import { assertSessionModuleReachable } from './session-module-reach.js';

/**
 * Attached by `@Session()` to the handlers that use it: tells the parameter
 * decorator (which has no injector) how to load the request's session. Always
 * lets the request through and loads nothing itself.
 * @internal
 */
@Injectable()
export class SessionContextGuard implements CanActivate {
  private readonly source: RequestSessionSource;

  // @Optional: when SessionModule is out of reach, say how to fix it rather than Nest's message naming this class.
  constructor(@Optional() sessionService: SessionService, @Optional() cookieService: SessionCookieService) {
    assertSessionModuleReachable('@Session()', sessionService, cookieService);
    this.source = { sessionService, cookieService };
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() === 'http') bindRequestSessionSource(context.switchToHttp().getRequest(), this.source);
    return true;
  }
}
