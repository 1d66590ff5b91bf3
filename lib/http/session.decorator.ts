import { createParamDecorator, UnauthorizedException, UseGuards, type ExecutionContext } from '@nestjs/common';
import type { Session as SessionObject } from '../session/session.interface.js';
import { loadBoundRequestSession } from './request-session.js';
import { SessionContextGuard } from './session-context.guard.js';

/** Options of the {@link Session} parameter decorator. */
export interface SessionDecoratorOptions {
  /**
   * Inject `undefined` instead of answering 401 when the request has no valid session.
   * @default false
   */
  optional?: boolean | undefined;
}

/**
 * A session as a caller holds it (see the `Session` interface and docs/sessions.md).
 * The same name is the {@link Session} parameter decorator, so
 * `@Session() session: Session` reads as it should.
 *
 * @typeParam TAttributes - map of attribute keys to value types, for typed
 *   `getAttribute` / `setAttribute`.
 */
export type Session<TAttributes extends object = Record<string, unknown>> = SessionObject<TAttributes>;

const HANDLER_BOUND = Symbol('nestjs-pg-session:session-param-bound');

/** Applied once per handler that has a `@Session()` parameter: attaches the binding guard. */
function attachContextGuard(target: object, key: string | symbol | undefined): void {
  if (key === undefined) return; // a constructor parameter: not a route handler
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  const handler: unknown = descriptor?.value;
  if (descriptor === undefined || typeof handler !== 'function' || Reflect.hasOwnMetadata(HANDLER_BOUND, handler)) return;
  Reflect.defineMetadata(HANDLER_BOUND, true, handler);
  UseGuards(SessionContextGuard)(target, key, descriptor);
}

const SessionParam = createParamDecorator(
  async (options: SessionDecoratorOptions | undefined, context: ExecutionContext): Promise<SessionObject | undefined> => {
    if (context.getType() !== 'http') {
      throw new Error(`nestjs-pg-session: @Session() works on HTTP route handlers, not in a "${context.getType()}" context.`);
    }
    const session = await loadBoundRequestSession(context.switchToHttp().getRequest());
    if (session !== null) return session;
    if (options?.optional === true) return undefined;
    throw new UnauthorizedException('A valid session is required.');
  },
  [attachContextGuard],
);

/**
 * Route parameter decorator: injects the request's {@link Session}, read from the
 * session cookie. Without a valid session (no cookie; malformed, badly signed,
 * unknown, expired or revoked session) the request is answered with 401, or
 * `undefined` is injected with `{ optional: true }`. The session is loaded at
 * most once per request, shared with {@link SessionGuard} and
 * {@link RequireAttributeGuard}. A database failure is not hidden as a 401.
 *
 * @example
 * ```ts
 * @Get('me')
 * me(@Session() session: Session) {
 *   return { userId: session.userId };
 * }
 *
 * @Get('greeting')
 * greet(@Session({ optional: true }) session: Session | undefined) {
 *   return session ? `Welcome back, ${session.userId}` : 'Hello, stranger';
 * }
 * ```
 */
export function Session(options: SessionDecoratorOptions = {}): ParameterDecorator {
  if (typeof options !== 'object' || options === null) throw new TypeError('@Session() takes an options object such as { optional: true }.');
  return SessionParam({ optional: options.optional === true });
}
