import { InvalidSessionIdError, SessionNotFoundError } from '../errors/session.errors.js';
import type { SessionService } from '../session/session.service.js';
import type { Session } from '../session/session.interface.js';
import { requestKey } from './http-message.js';
import type { SessionCookieService } from './session-cookie.service.js';

/**
 * Per-request memo of the request's session: loaded at most once, and only when a
 * guard or a `@Session()` parameter asks. Keyed by the raw request object, so
 * the entry goes away with the request.
 * @internal
 */

/** What loading a request's session needs. */
export interface RequestSessionSource {
  readonly sessionService: SessionService;
  readonly cookieService: SessionCookieService;
}

const loaded = new WeakMap<object, Promise<Session | null>>();
const sources = new WeakMap<object, RequestSessionSource>();

/**
 * The request's session, or null when it has none (no cookie; malformed, badly
 * signed, unknown, expired or deleted session). Loaded once per request; later
 * calls get the same promise. Other failures (the database being down) reject.
 */
export function loadRequestSession(request: unknown, source: RequestSessionSource): Promise<Session | null> {
  const key = requestKey(request);
  let session = loaded.get(key);
  if (session === undefined) {
    session = fetchSession(request, source);
    loaded.set(key, session);
  }
  return session;
}

/** Remembers how to load the session of `request`, for parameter decorators (which have no injector). */
export function bindRequestSessionSource(request: unknown, source: RequestSessionSource): void {
  sources.set(requestKey(request), source);
}

/**
 * Like {@link loadRequestSession}, with the source bound to the request earlier.
 * @throws Error when nothing was bound (the binding guard did not run).
 */
export function loadBoundRequestSession(request: unknown): Promise<Session | null> {
  const source = sources.get(requestKey(request));
  if (source === undefined) {
    throw new Error(
      'nestjs-pg-session: @Session() found no session source on this request. It works on HTTP route handlers ' +
        'of controllers whose module can inject SessionService (SessionModule is global by default).',
    );
  }
  return loadRequestSession(request, source);
}

async function fetchSession(request: unknown, { sessionService, cookieService }: RequestSessionSource): Promise<Session | null> {
  const id = cookieService.read(request);
  if (id === null) return null;
  try {
    return await sessionService.getSession(id);
  } catch (error) {
    // "No session" conditions only: a database failure must surface as one.
    if (error instanceof SessionNotFoundError || error instanceof InvalidSessionIdError) return null;
    throw error;
  }
}
