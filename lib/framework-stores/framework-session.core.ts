import { SessionNotFoundError } from '../errors/session.errors.js';
import { MAX_ID_LENGTH } from '../options/session.constants.js';
import type { Session } from '../session/session.interface.js';
import { SessionView } from '../session/session-view.js';
import type { SessionService } from '../session/session.service.js';
import { frameworkRowId } from './framework-session-id.js';
import { COOKIE_KEY, cookieLifetime, decodeData, encodeData, sameCookieButExpiry, withExpiry, type CookieLifetime } from './framework-session.data.js';
import { FRAMEWORK_STORE_GROUP_ID, type FrameworkStoreOptions } from './framework-store-options.interface.js';

/**
 * What one request read of a session: the base its `set` is compared with, so two
 * overlapping requests never drop each other's keys. Updated by that request's own
 * writes only.
 */
export interface SessionBase {
  readonly rowId: string;
  /** '' while the session belongs to no user. */
  readonly userId: string;
  /** The session's expiry (epoch ms) as this request knows it. */
  readonly expiresAt: number;
  /** Whether the idle limit applies (a browser-session cookie) rather than the cookie's expiry alone. */
  readonly includeInactivity: boolean;
  /** Top-level key → JSON text. */
  readonly attrs: ReadonlyMap<string, string>;
}

/** A session as a framework store hands it out: its data and the base of the request that read it. */
export interface LoadedSession {
  readonly data: Record<string, unknown>;
  readonly base: SessionBase;
}

/**
 * Passport's `data.passport.user` (passport, @nestjs/passport); @fastify/passport keeps
 * the serialized user as `data.passport` itself, which counts too.
 */
const defaultUserIdOf = (data: Record<string, unknown>): string | number | null => {
  const passport = data.passport;
  if (typeof passport === 'string' || typeof passport === 'number') return passport;
  if (typeof passport !== 'object' || passport === null) return null;
  const user = (passport as { user?: unknown }).user;
  return typeof user === 'string' || typeof user === 'number' ? user : null;
};

/**
 * The engine under both framework stores, promise style: framework session ids are
 * hashed into row ids, each top-level key of the data is one attribute, `set` writes
 * only what changed since the request's read, and a change of nothing but the cookie's
 * expiry is a last-access record (no write) until the stored expiry needs moving.
 */
export class FrameworkSessionCore {
  private readonly userIdOf: (data: Record<string, unknown>) => string | number | null | undefined;

  constructor(
    private readonly sessions: SessionService,
    options: FrameworkStoreOptions = {},
    /** A key of the data that is the store's own bookkeeping, never stored. */
    private readonly privateKey?: string,
  ) {
    if (!sessions || typeof sessions.getSession !== 'function') {
      throw new TypeError('A framework session store needs the SessionService (e.g. app.get(SessionService)).');
    }
    const userIdOf = options.userIdOf ?? defaultUserIdOf;
    if (typeof userIdOf !== 'function') throw new TypeError('userIdOf must be a function.');
    this.userIdOf = userIdOf;
  }

  /** The session under `sid`, or null when absent, expired, destroyed or revoked. */
  async get(sid: string): Promise<LoadedSession | null> {
    const rowId = rowIdOf(sid);
    const session = await this.read(rowId, true);
    return session === null ? null : loaded(session);
  }

  /**
   * Stores `data` under `sid`: creates the session when `base` is missing, else writes
   * the keys that changed since `base` (and deletes those gone), gives the session to
   * the user `userIdOf` now names, and moves its expiry when the cookie asks for it.
   * A session removed meanwhile (revoked, destroyed) is not brought back.
   * @returns the request's new base.
   */
  async set(sid: string, data: Record<string, unknown>, base: SessionBase | undefined): Promise<SessionBase> {
    assertData(data);
    const rowId = rowIdOf(sid);
    const next = encodeData(data, this.privateKey);
    const life = cookieLifetime(data[COOKIE_KEY]);
    const userId = this.userOf(data);
    for (let attempt = 0; base === undefined || base.rowId !== rowId; attempt++) {
      const created = await this.sessions.createSessionWithId(rowId, userId ?? '', decodeData(next), {
        groupId: FRAMEWORK_STORE_GROUP_ID,
        expiresAt: life.expiresAt,
        // A cookie with an expiry governs the lifetime; a browser-session cookie gets the module's limits.
        includeInactivity: life.expiresAt === null,
      });
      if (created !== null) return baseOf(created, new Map(next));
      // The id exists (created meanwhile, or this request's read is unknown here): the data
      // replaces what is stored, key by key.
      const current = await this.read(rowId, false);
      if (current !== null) {
        base = loaded(current).base;
      } else {
        // Taken by a row no read returns (expired, not yet cleaned up): the new data replaces it.
        if (attempt >= 2) throw new Error(`Could not store session data under row ${rowId}: the id stays taken by an unreadable session.`);
        await this.sessions.deleteSession(rowId);
      }
    }
    return this.write(base, next, life, userId);
  }

  /**
   * Records an access of `sid` (batched, no statement) and moves its stored expiry
   * forward only when less than half of the cookie's `maxAge` is left.
   */
  async touch(sid: string, data: Record<string, unknown>, base: SessionBase | undefined): Promise<void> {
    assertData(data);
    const rowId = rowIdOf(sid);
    if (base === undefined || base.rowId !== rowId) {
      const current = await this.read(rowId, true);
      if (current === null) return;
      base = loaded(current).base;
    }
    const cookie = JSON.stringify(data[COOKIE_KEY]) as string | undefined;
    if (cookie === undefined) return;
    const next = new Map(base.attrs).set(COOKIE_KEY, cookie);
    await this.write(base, next, cookieLifetime(data[COOKIE_KEY]), null);
  }

  /** Deletes the session under `sid` on every node (absent is not an error). */
  destroy(sid: string): Promise<void> {
    return this.sessions.deleteSession(rowIdOf(sid));
  }

  /** The data of every live session created through framework stores in this deployment. */
  async all(): Promise<Array<Record<string, unknown>>> {
    const sessions = await this.sessions.groupSessionAttributes(FRAMEWORK_STORE_GROUP_ID);
    return [...sessions.values()].map(({ expiresAt, attributes }) => {
      const data = decodeData(attributes);
      // As `get` does: the cookie says when the session really ends.
      if (COOKIE_KEY in data) data[COOKIE_KEY] = withExpiry(data[COOKIE_KEY], expiresAt);
      return data;
    });
  }

  /** How many live sessions were created through framework stores in this deployment. */
  length(): Promise<number> {
    return this.sessions.countGroupSessions(FRAMEWORK_STORE_GROUP_ID);
  }

  /** Deletes every session created through framework stores in this deployment, on every node. */
  clear(): Promise<void> {
    return this.sessions.deleteAllSessionsByGroupId(FRAMEWORK_STORE_GROUP_ID);
  }

  private async read(rowId: string, recordAccess: boolean): Promise<Session | null> {
    try {
      return await this.sessions.getSession(rowId, { updateLastAccess: recordAccess });
    } catch (err) {
      if (err instanceof SessionNotFoundError) return null;
      throw err;
    }
  }

  private async write(base: SessionBase, next: ReadonlyMap<string, string>, life: CookieLifetime, userId: string | null): Promise<SessionBase> {
    const changed = new Map<string, string>();
    for (const [key, json] of next) {
      const old = base.attrs.get(key);
      if (old === json || (key === COOKIE_KEY && old !== undefined && sameCookieButExpiry(old, json))) continue;
      changed.set(key, json);
    }
    const deleted: string[] = [];
    for (const key of base.attrs.keys()) if (!next.has(key)) deleted.push(key);
    const newUser = userId !== null && userId !== base.userId ? userId : null;
    // A cookie that gained a maxAge/expires ("remember me") is governed by it alone; one that
    // lost it gets the module's limits (sessionExpiration and the idle limit) from now on.
    const includeInactivity = life.expiresAt === null;
    const kindChanged = includeInactivity !== base.includeInactivity;
    const dataChanged = changed.size > 0 || deleted.length > 0 || newUser !== null || kindChanged;
    const lifetimes = this.sessions.frameworkLifetimes;
    let expiresAt: number | undefined;
    if (life.expiresAt === null) {
      if (kindChanged) expiresAt = Date.now() + lifetimes.sessionExpiration;
    } else if (life.expiresAt !== base.expiresAt && (dataChanged || needsMove(base.expiresAt, life, Date.now(), lifetimes.lastAccessUpdateInterval))) {
      expiresAt = life.expiresAt;
    }
    if (expiresAt !== undefined) {
      // The stored cookie then says what the row says.
      const cookie = next.get(COOKIE_KEY);
      if (cookie !== undefined) changed.set(COOKIE_KEY, cookie);
    }
    // Nothing but the cookie's expiry moved, and the stored one is far enough: a touch,
    // already recorded as an access by the read.
    if (!dataChanged && expiresAt === undefined) return base;

    const view = await this.read(base.rowId, false);
    if (view === null) return base; // destroyed or revoked meanwhile: stays gone
    for (const [key, json] of changed) view.setAttribute(key, JSON.parse(json));
    for (const key of deleted) if (view.hasAttribute(key)) view.deleteAttribute(key);
    const expiry = expiresAt === undefined ? undefined : new Date(expiresAt);
    let saved: Session;
    try {
      const inactivity = kindChanged ? includeInactivity : undefined;
      saved = newUser !== null
        ? await this.sessions.assignSessionUser(view, newUser, expiry, inactivity)
        : await this.sessions.updateSession(view, { expiresAt: expiry, ...(inactivity === undefined ? {} : { includeInactivity: inactivity }) });
    } catch (err) {
      if (err instanceof SessionNotFoundError) return base;
      throw err;
    }
    // This request's view from now on: what it read plus what it wrote; keys other
    // requests wrote meanwhile stay theirs.
    const attrs = new Map(base.attrs);
    for (const [key, json] of changed) attrs.set(key, json);
    for (const key of deleted) attrs.delete(key);
    return { rowId: base.rowId, userId: saved.userId, expiresAt: saved.expiresAt.getTime(), includeInactivity: saved.includeInactivity, attrs };
  }

  private userOf(data: Record<string, unknown>): string | null {
    const raw = this.userIdOf(data);
    if (raw === null || raw === undefined) return null;
    if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
    if (typeof raw === 'string' && raw.length > 0 && raw.length <= MAX_ID_LENGTH) return raw;
    throw new TypeError(`userIdOf must return a non-empty string of at most ${MAX_ID_LENGTH} characters, a finite number, null or undefined.`);
  }
}

/** Row id of a framework session id; a clear error for what no framework sends. */
function rowIdOf(sid: unknown): string {
  if (typeof sid !== 'string' || sid.length === 0) throw new TypeError('A session id must be a non-empty string.');
  return frameworkRowId(sid);
}

function assertData(data: unknown): asserts data is Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError('Session data must be an object.');
}

/**
 * Moving the stored expiry costs a write, so it happens once the stored expiry trails
 * the cookie's by more than the last-access interval (half the cookie's `maxAge` at
 * most): at most one write per interval per active session, never one per request, and
 * the row never ends more than that interval before the cookie the browser holds. A
 * cookie with a fixed `expires` (no `maxAge`) moves only when the app changes it.
 */
function needsMove(storedExpiresAt: number, life: CookieLifetime, now: number, interval: number): boolean {
  if (life.maxAge === null) return true;
  const slack = Math.min(interval, life.maxAge / 2);
  return storedExpiresAt - now < life.maxAge - slack;
}

function loaded(session: Session): LoadedSession {
  const snapshot = (session as SessionView).snapshot;
  const now = Date.now();
  const attrs = new Map<string, string>();
  for (const [key, json, expiresAt] of snapshot.attributes.tuples()) {
    if (expiresAt === null || expiresAt > now) attrs.set(key, json);
  }
  const data = decodeData(attrs);
  // The framework checks (Fastify) or renews (Express) the cookie from this: it must be the session's real expiry.
  if (COOKIE_KEY in data) data[COOKIE_KEY] = withExpiry(data[COOKIE_KEY], snapshot.expiresAt);
  return { data, base: baseOf(session, attrs) };
}

function baseOf(session: Session, attrs: Map<string, string>): SessionBase {
  if (!(session instanceof SessionView)) throw new TypeError('Expected a session of this SessionService.');
  return { rowId: session.id, userId: session.userId, expiresAt: session.snapshot.expiresAt, includeInactivity: session.snapshot.includeInactivity, attrs };
}
