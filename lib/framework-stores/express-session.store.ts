import type { Request } from 'express';
import expressSession from 'express-session';
import type { SessionService } from '../session/session.service.js';
import { FrameworkSessionCore, type SessionBase } from './framework-session.core.js';
import type { FrameworkStoreOptions } from './framework-store-options.interface.js';
import { attempt, settle } from './store-callback.js';

type SessionData = expressSession.SessionData;

/**
 * An express-session store on this library's engine: reads from the node's cache,
 * per-key writes judged per request, rolling expiry without a write per request,
 * revocation seen at once on every node.
 *
 * @example
 * app.use(session({ store: new ExpressSessionStore(app.get(SessionService)), secret: ['…'], resave: false, saveUninitialized: false }));
 */
export class ExpressSessionStore extends expressSession.Store {
  private readonly core: FrameworkSessionCore;
  /** Data objects handed out by `get`, until express-session wraps them in a `Session`. */
  private readonly readBases = new WeakMap<object, SessionBase>();
  /** Each request's `Session` object → what that request read (and wrote) of it. */
  private readonly requestBases = new WeakMap<object, SessionBase>();

  constructor(sessions: SessionService, options: FrameworkStoreOptions = {}) {
    super();
    this.core = new FrameworkSessionCore(sessions, options);
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    settle(
      attempt(async () => {
        const found = await this.core.get(sid);
        if (found === null) return null;
        this.readBases.set(found.data, found.base);
        return found.data as unknown as SessionData;
      }),
      callback,
    );
  }

  /** express-session wraps what `get` returned in its `Session`: the request's base follows it. */
  override createSession(req: Request, data: SessionData): expressSession.Session & SessionData {
    const base = this.readBases.get(data);
    const session = super.createSession(req, data);
    if (base !== undefined) {
      this.readBases.delete(data);
      this.requestBases.set(session, base);
    }
    return session;
  }

  override set(sid: string, session: SessionData, callback?: (err?: unknown) => void): void {
    settle(
      attempt(async () => {
        const base = await this.core.set(sid, session as unknown as Record<string, unknown>, this.requestBases.get(session));
        this.requestBases.set(session, base);
      }),
      callback,
    );
  }

  override touch(sid: string, session: SessionData, callback?: (err?: unknown) => void): void {
    settle(attempt(() => this.core.touch(sid, session as unknown as Record<string, unknown>, this.requestBases.get(session))), callback);
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    settle(attempt(() => this.core.destroy(sid)), callback);
  }

  /** Data of every live session created through framework stores in this deployment (ids are hashes: an array). */
  override all(callback: (err: unknown, sessions?: SessionData[] | null) => void): void {
    settle(attempt(() => this.core.all() as unknown as Promise<SessionData[]>), callback);
  }

  override length(callback: (err: unknown, length?: number) => void): void {
    settle(attempt(() => this.core.length()), callback);
  }

  override clear(callback?: (err?: unknown) => void): void {
    settle(attempt(() => this.core.clear()), callback);
  }
}
