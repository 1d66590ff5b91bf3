import type { SessionService } from '../session/session.service.js';
import { FrameworkSessionCore, type SessionBase } from './framework-session.core.js';
import type { FrameworkStoreOptions } from './framework-store-options.interface.js';
import { attempt, settle } from './store-callback.js';

/**
 * The data key under which a session read by `get` carries its request's base.
 * @fastify/session copies every enumerable key of the stored data into the request's
 * session and hands that session back to `set`, and offers no other link between the
 * two calls; the value serializes to nothing (JSON and @fastify/session's change hash
 * skip it) and is never stored.
 */
export const FASTIFY_BASE_KEY = '__pgSessionBase';

/** Holds one request's base; JSON (and so @fastify/session's change detection) never sees it. */
class BaseHandle {
  constructor(public base: SessionBase) {}
  toJSON(): undefined {
    return undefined;
  }
}

type Callback = (err?: unknown) => void;

/**
 * A @fastify/session store on this library's engine (see `ExpressSessionStore`):
 * `get`, `set`, `destroy`, plus `all`, `length`, `clear` for the app's own use.
 *
 * @example
 * await app.register(fastifySession, { store: new FastifySessionStore(app.get(SessionService)), secret: '…' });
 */
export class FastifySessionStore {
  private readonly core: FrameworkSessionCore;

  constructor(sessions: SessionService, options: FrameworkStoreOptions = {}) {
    this.core = new FrameworkSessionCore(sessions, options, FASTIFY_BASE_KEY);
  }

  get(sessionId: string, callback: (err: unknown, session?: Record<string, unknown> | null) => void): void {
    settle(
      attempt(async () => {
        const found = await this.core.get(sessionId);
        if (found === null) return null;
        Object.defineProperty(found.data, FASTIFY_BASE_KEY, { value: new BaseHandle(found.base), enumerable: true, writable: true, configurable: true });
        return found.data;
      }),
      callback,
    );
  }

  set(sessionId: string, session: object, callback: Callback): void {
    settle(
      attempt(async () => {
        const data = session as Record<string, unknown>;
        const handle = data[FASTIFY_BASE_KEY];
        const base = await this.core.set(sessionId, data, handle instanceof BaseHandle ? handle.base : undefined);
        if (handle instanceof BaseHandle) handle.base = base;
        else Object.defineProperty(data, FASTIFY_BASE_KEY, { value: new BaseHandle(base), enumerable: false, writable: true, configurable: true });
      }),
      callback,
    );
  }

  destroy(sessionId: string, callback: Callback): void {
    settle(attempt(() => this.core.destroy(sessionId)), callback);
  }

  /** Data of every live session created through framework stores in this deployment. */
  all(callback: (err: unknown, sessions?: Array<Record<string, unknown>>) => void): void {
    settle(attempt(() => this.core.all()), callback);
  }

  length(callback: (err: unknown, length?: number) => void): void {
    settle(attempt(() => this.core.length()), callback);
  }

  clear(callback?: Callback): void {
    settle(attempt(() => this.core.clear()), callback);
  }
}
