import { ForbiddenException, Injectable, Optional, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionService } from '../session/session.service.js';
import type { Session } from '../session/session.interface.js';
import { REQUIRED_ATTRIBUTES, type AttributeRequirement } from './attribute-requirement.js';
import { jsonEqual } from './json-equal.js';
import { loadRequestSession } from './request-session.js';
import { SessionCookieService } from './session-cookie.service.js';
import { assertSessionModuleReachable } from './session-module-reach.js';

/**
 * Enforces `@RequireAttribute(key, { equals? })` (which applies this guard
 * itself): 401 when the request has no valid session, 403 when a required
 * attribute is absent, expired or has another value. Requirements of the handler
 * and of the controller all apply. Without any requirement it lets the request
 * through and loads nothing.
 *
 * The session is loaded at most once per request and shared with
 * {@link SessionGuard} and `@Session()` parameters. Its members are
 * `protected`, so it can be extended:
 *
 * @example
 * ```ts
 * @Injectable()
 * export class StepUpGuard extends RequireAttributeGuard {
 *   // tell the client where to go instead of a bare 403
 *   protected override throwForbidden(requirement: AttributeRequirement): never {
 *     throw new ForbiddenException({ message: 'Step-up required', stepUp: '/step-up', attribute: requirement.key });
 *   }
 * }
 * ```
 */
@Injectable()
export class RequireAttributeGuard implements CanActivate {
  // @Optional: when SessionModule is out of reach, say how to fix it rather than fail with Nest's message.
  constructor(
    protected readonly reflector: Reflector,
    @Optional() protected readonly sessionService: SessionService,
    @Optional() protected readonly cookieService: SessionCookieService,
  ) {
    assertSessionModuleReachable(new.target.name, sessionService, cookieService);
  }

  /** 401 without a session, 403 unless every requirement holds. */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirements = this.getRequirements(context);
    if (requirements.length === 0) return true;
    const session = await this.getSession(context);
    if (session === null) return this.throwUnauthorized(context);
    for (const requirement of requirements) {
      if (!this.isSatisfied(session, requirement, context)) this.throwForbidden(requirement, context);
    }
    return true;
  }

  /** The requirements of the handler and of its controller, all of which must hold. */
  protected getRequirements(context: ExecutionContext): readonly AttributeRequirement[] {
    return this.reflector.getAllAndMerge<AttributeRequirement[]>(REQUIRED_ATTRIBUTES, [context.getHandler(), context.getClass()]) ?? [];
  }

  /** Whether the session holds the live attribute (with the expected value, when one is given). */
  protected isSatisfied(session: Session, requirement: AttributeRequirement, context: ExecutionContext): boolean {
    if (!session.hasAttribute(requirement.key)) return false;
    return !requirement.compare || jsonEqual(session.getAttribute(requirement.key), requirement.equals);
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

  /** Answers a request whose session fails a requirement. @default throws `ForbiddenException` (403). */
  protected throwForbidden(requirement: AttributeRequirement, context: ExecutionContext): never {
    throw new ForbiddenException(`This route requires the session attribute "${requirement.key}".`);
  }
}
