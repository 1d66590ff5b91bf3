import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { tickOf } from '../cache/coarse-clock.js';
import { SessionCache, type CacheEntry } from '../cache/session.cache.js';
import {
  CommitOutcomeUnknownError,
  InvalidSessionIdError,
  SessionError,
  SessionConflictError,
  SessionInvalidatedError,
  SessionNotFoundError,
} from '../errors/session.errors.js';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { RESOLVED_SESSION_OPTIONS } from '../options/internal.tokens.js';
import { assertIdentifier } from '../validation/text.validation.js';
import type { SessionSnapshot } from './session-snapshot.js';
import { commitOutcome } from '../store/commit-outcome.js';
import { SessionStore, type UpdateCommand, type UpdateResult } from '../store/session.store.js';
import { CacheInvalidator } from '../sync/cache-invalidator.js';
import type { SessionChange } from '../sync/session-change.js';
import { SyncState } from '../sync/sync-state.js';
import { LastAccessWriter } from '../workers/last-access.writer.js';
import { assertAttributeKey, encodeAttribute, expiryMillis } from './attribute-codec.js';
import { canonicalSessionId, newSessionId } from './session-id.js';
import type {
  CreateSessionOptions,
  GetSessionOptions,
  SessionInfo,
  SessionStats,
  UpdateSessionOptions,
} from './session-options.interface.js';
import type { AttributeInput, InitialAttributes, Session } from './session.interface.js';
import { SessionView } from './session-view.js';
import { logId } from './log-id.js';

/** An update whose snapshot turned out stale is re-run; this bounds pathological contention. */
const MAX_STALE_RETRIES = 100;

/**
 * Creates, reads, updates and deletes sessions. Reads are served from this node's
 * cache when possible; every write is one statement or one transaction, and tells
 * the other nodes (in the same transaction) which cached sessions to drop.
 */
@Injectable()
export class SessionService implements OnModuleInit, BeforeApplicationShutdown {
  private hits = 0;
  private misses = 0;
  private cleanupRuns = 0;
  private cleanupDeleted = 0;
  private readonly inactivity: number;
  private readonly lifetimeInCache: number;
  private readonly maxAttributeLength: number;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    private readonly cache: SessionCache,
    private readonly invalidator: CacheInvalidator,
    private readonly lastAccess: LastAccessWriter,
    private readonly sync: SyncState,
  ) {
    this.inactivity = options.inactivityDuration;
    this.lifetimeInCache = options.maxSessionLifetimeInCache;
    this.maxAttributeLength = options.maxAttributeLength;
  }

  /** Starts the last-access timer (the cleanup worker, a provider of its own, starts after this). */
  onModuleInit(): void {
    this.lastAccess.start();
  }

  /**
   * Stops the last-access timer and writes the accesses still pending. Runs after the
   * cleanup worker has stopped (it depends on this service, so Nest shuts it down first).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.lastAccess.stop();
    await this.lastAccess.flush();
  }

  /**
   * Creates a session for `userId` with `attributes` (stored atomically), then keeps
   * only the user's `maxSessions` most recently accessed sessions. The new session
   * is cached on this node.
   * @throws TypeError for an invalid user id, attribute, group id or option.
   * @throws AttributeTooLargeError when an attribute exceeds `maxAttributeLength`.
   */
  createSession<TAttributes extends object = Record<string, unknown>>(userId: string, attributes?: InitialAttributes<TAttributes>, options?: CreateSessionOptions): Promise<Session<TAttributes>>;
  async createSession(userId: string, attributes: Record<string, AttributeInput> = {}, options: CreateSessionOptions = {}): Promise<Session> {
    assertIdentifier(userId, 'userId');
    const groupId = options.groupId ?? null;
    if (groupId !== null) assertIdentifier(groupId, 'groupId');
    const expiresAt = options.expiresAt === undefined ? null : expiryMillis(options.expiresAt, 'expiresAt');
    const includeInactivity = options.includeInactivity ?? true;
    if (typeof includeInactivity !== 'boolean') throw new TypeError('includeInactivity must be a boolean.');
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
      throw new TypeError('attributes must be an object of { value, expiresAt? } entries.');
    }
    const keys: string[] = [];
    const values: string[] = [];
    const expiries: Array<number | null> = [];
    for (const [key, input] of Object.entries(attributes)) {
      assertAttributeKey(key);
      if (typeof input !== 'object' || input === null || !('value' in input)) {
        throw new TypeError(`Attribute "${key}" must be given as { value, expiresAt? }.`);
      }
      keys.push(key);
      values.push(encodeAttribute(key, input.value, this.maxAttributeLength));
      expiries.push(input.expiresAt === undefined ? null : expiryMillis(input.expiresAt, `expiresAt of attribute "${key}"`));
    }
    const pending = this.pendingAccessesOf(userId);
    const ticket = this.cache.begin();
    try {
      const { snapshot, evicted } = await this.store
        .create({
          id: newSessionId(), userId, groupId, expiresAt, defaultLifetime: this.options.sessionExpiration,
          includeInactivity, keys, values, expiries, pendingIds: pending.ids, pendingTimes: pending.times,
          maxSessions: this.options.maxSessions,
        })
        // It may have evicted some of the user's sessions: drop them all here.
        .catch((err: unknown) => failedWrite(err, `creation of a session for user ${JSON.stringify(userId)}`, () => this.cache.invalidateUsers([userId])));
      if (evicted.length > 0) {
        this.invalidator.apply({ type: 'sessions', ids: evicted });
        this.lastAccess.forget(evicted);
      }
      this.cache.commit(snapshot, ticket, snapshot.lastAccessed);
      return this.view(snapshot, false, snapshot.lastAccessed);
    } finally {
      this.cache.end(ticket);
    }
  }

  /**
   * Reads a session: from this node's cache when it holds a fresh copy, else from
   * the database (and caches it).
   * @throws InvalidSessionIdError when `sessionId` is not a UUID (nothing is queried).
   * @throws SessionNotFoundError when absent, deleted, expired or idle too long.
   */
  getSession<TAttributes extends object = Record<string, unknown>>(sessionId: string, options?: GetSessionOptions): Promise<Session<TAttributes>>;
  getSession(sessionId: string, options?: GetSessionOptions): Promise<Session> {
    // Cached keys are validated ids, so a hit needs no further check of the argument.
    const now = Date.now();
    const tick = tickOf(now);
    let entry = typeof sessionId === 'string' && sessionId.length === 36 && options?.forceRefresh !== true ? this.cache.get(sessionId, tick) : undefined;
    if (entry === undefined) {
      const id = canonicalSessionId(sessionId);
      if (id === null) return Promise.reject(new InvalidSessionIdError(sessionId));
      if (id === sessionId || options?.forceRefresh === true) return this.load(id, options);
      entry = this.cache.get(id, tick); // an upper-case spelling of a cached id
      if (entry === undefined) return this.load(id, options);
    }
    // The coarse checks read only small integers inside the entry; near a limit, or with
    // minVersion, the exact checks below decide.
    if (
      (tick <= entry.freshUntilTick && tick - entry.accessTick <= entry.idleTicks && options?.minVersion === undefined) ||
      this.isServable(entry, now, options)
    ) {
      this.hits++;
      if (options?.updateLastAccess !== false) this.lastAccess.touch(entry, now, tick);
      return Promise.resolve(new SessionView(entry.snapshot, true, entry.lastAccess, this.maxAttributeLength));
    }
    return this.load(entry.snapshot.id, options);
  }

  /** The exact form of the hit-path checks: fresh in the cache, not expired, not idle too long, new enough. */
  private isServable(entry: CacheEntry, now: number, options: GetSessionOptions | undefined): boolean {
    const snapshot = entry.snapshot;
    return (
      now - entry.cachedAt <= this.lifetimeInCache &&
      snapshot.expiresAt > now &&
      (!snapshot.includeInactivity || now - entry.lastAccess <= this.inactivity) &&
      (options?.minVersion === undefined || snapshot.version >= options.minVersion)
    );
  }

  /**
   * Saves the changes made on `session` (attributes set or deleted, group id) and
   * returns the new state, with `version` one higher. Never mutates `session`.
   * @throws SessionConflictError when a requested version check fails (nothing written).
   * @throws SessionNotFoundError when the session was deleted or expired.
   * @throws SessionInvalidatedError when `invalidate()` was called on `session`.
   */
  updateSession<TAttributes extends object = Record<string, unknown>>(session: Session<TAttributes>, options?: UpdateSessionOptions): Promise<Session<TAttributes>>;
  updateSession(session: Session, options: UpdateSessionOptions = {}): Promise<Session> {
    let view: SessionView;
    let cmd: UpdateCommand;
    try {
      view = this.ownView(session);
      cmd = this.updateCommand(view, options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writeUpdate(view, cmd, 0);
  }

  /**
   * Writes `cmd` and caches the new state. Chained callbacks rather than an async loop:
   * every update passes here, and an async function's frame and await cost more.
   */
  private writeUpdate(view: SessionView, cmd: UpdateCommand, attempt: number): Promise<Session> {
    const ticket = this.cache.begin();
    return this.store.update(cmd).then(
      (result) => {
        if (result.kind === 'ok') {
          const now = Date.now();
          try {
            this.cache.commit(result.snapshot, ticket, now);
          } finally {
            this.cache.end(ticket);
          }
          return this.view(result.snapshot, false, now);
        }
        this.cache.end(ticket);
        if (result.kind === 'retry' && attempt < MAX_STALE_RETRIES) return this.writeUpdate(view, cmd, attempt + 1);
        return this.notUpdated(view.id, result);
      },
      (err: unknown) => {
        this.cache.end(ticket);
        return failedWrite(err, `update of session ${view.id}`, () => this.cache.invalidateSessions([view.id]));
      },
    );
  }

  /**
   * What `updateSession` answers when its write did not return the new state: the
   * session read again (written, but its row unreadable), or the error. The session is
   * dropped from this node's cache either way.
   */
  private async notUpdated(id: string, result: Exclude<UpdateResult, { kind: 'ok' }>): Promise<Session> {
    this.cache.invalidateSessions([id]);
    switch (result.kind) {
      case 'committed-unreadable':
        this.options.logger.warn(`Session ${logId(id)} was updated, but the returned row could not be read; reading it again: ${String(result.cause)}`);
        return this.load(id, { updateLastAccess: false });
      case 'not-found':
        throw new SessionNotFoundError(id);
      case 'version-conflict':
        throw new SessionConflictError(id);
      case 'attribute-conflict':
        throw new SessionConflictError(id, result.key);
      case 'retry':
        // Still stale after every attempt (pathological contention).
        throw new SessionConflictError(id);
    }
  }

  /**
   * Deletes a session; every node drops its cached copy. Deleting an absent session is not an error.
   * @throws InvalidSessionIdError when `sessionId` is not a UUID.
   */
  async deleteSession(sessionId: string): Promise<void> {
    const id = this.checkId(sessionId);
    const change = { type: 'sessions', ids: [id] } satisfies SessionChange;
    await this.store.deleteOne(id, this.invalidator.payload(change)).catch((err: unknown) => failedWrite(err, `deletion of session ${id}`, () => this.invalidator.apply(change)));
    this.invalidator.apply(change);
    this.lastAccess.forget([id]);
  }

  /** Deletes every session of a user (e.g. "log out everywhere"). */
  async deleteAllUserSessions(userId: string): Promise<void> {
    assertIdentifier(userId, 'userId');
    const change = { type: 'user', ids: [userId] } satisfies SessionChange;
    const cached = this.cache.userSessionIds(userId);
    await this.store.deleteByUser(userId, this.invalidator.payload(change)).catch((err: unknown) => failedWrite(err, `deletion of the sessions of user ${JSON.stringify(userId)}`, () => this.invalidator.apply(change)));
    this.invalidator.apply(change);
    this.lastAccess.forget(cached);
  }

  /** Deletes every session of a group (tenant, account…). */
  async deleteAllSessionsByGroupId(groupId: string): Promise<void> {
    assertIdentifier(groupId, 'groupId');
    const change = { type: 'group', ids: [groupId] } satisfies SessionChange;
    await this.store.deleteByGroup(groupId, this.invalidator.payload(change)).catch((err: unknown) => failedWrite(err, `deletion of the sessions of group ${JSON.stringify(groupId)}`, () => this.invalidator.apply(change)));
    this.invalidator.apply(change);
  }

  /** Deletes every session of this deployment (schema + prefix). */
  async deleteAllSessions(): Promise<void> {
    const change = { type: 'all', ids: [] } satisfies SessionChange;
    // Taken before the cache is cleared and before the delete: the sessions it removes.
    const known = [...this.cache.versions().map(([id]) => id), ...this.lastAccess.pendingIds()];
    await this.store.deleteAll(this.invalidator.payload(change)).catch((err: unknown) => failedWrite(err, 'deletion of all sessions', () => this.invalidator.apply(change)));
    this.invalidator.apply(change);
    this.lastAccess.forget(known);
  }

  /** Removes one attribute from every session of a user (e.g. revoke `elevated_access` everywhere). */
  async deleteAttributeFromAllUserSessions(userId: string, key: string): Promise<void> {
    assertIdentifier(userId, 'userId');
    assertAttributeKey(key);
    const change = { type: 'user', ids: [userId] } satisfies SessionChange;
    await this.store.deleteUserAttribute(userId, key, this.invalidator.payload(change)).catch((err: unknown) =>
      failedWrite(err, `deletion of attribute ${JSON.stringify(key)} from the sessions of user ${JSON.stringify(userId)}`, () => this.invalidator.apply(change)),
    );
    this.invalidator.apply(change);
  }

  /** The user's live sessions, most recently accessed first (this node's pending accesses included). */
  async listUserSessions(userId: string): Promise<SessionInfo[]> {
    assertIdentifier(userId, 'userId');
    const rows = await this.store.listByUser(userId);
    const now = Date.now();
    const result: SessionInfo[] = [];
    for (const row of rows) {
      const lastAccessed = Math.max(row.last_accessed, this.lastAccess.latestFor(row.id));
      if (row.include_inactivity && now - lastAccessed > this.inactivity) continue;
      result.push({
        id: row.id,
        userId: row.user_id,
        groupId: row.group_id,
        createdAt: new Date(row.created_at),
        updatedAt: new Date(row.updated_at),
        lastAccessed: new Date(lastAccessed),
        expiresAt: new Date(row.expires_at),
      });
    }
    return result.sort((a, b) => b.lastAccessed.getTime() - a.lastAccessed.getTime());
  }

  /**
   * Gives the session's data a new id and deletes the old id, atomically (session
   * fixation defence after login or step-up). Pending changes on `session` are saved
   * as part of it. `session` is invalidated; use the returned session from now on.
   * @throws SessionNotFoundError when the session no longer exists.
   */
  regenerateSession<TAttributes extends object = Record<string, unknown>>(session: Session<TAttributes>): Promise<Session<TAttributes>>;
  async regenerateSession(session: Session): Promise<Session> {
    const view = this.ownView(session);
    const oldId = view.id;
    const newId = newSessionId();
    const change = { type: 'sessions', ids: [oldId] } satisfies SessionChange;
    const cmd = view.isModified ? this.updateCommand(view, { notify: false }) : null;
    const ticket = this.cache.begin();
    try {
      const snapshot = await this.store
        .regenerate(oldId, newId, this.invalidator.payload(change), async (tx) => {
          if (cmd === null) return;
          for (let attempt = 0; ; attempt++) {
            const result = await this.store.update(cmd, tx);
            if (result.kind === 'ok' || result.kind === 'committed-unreadable') return;
            if (result.kind !== 'retry' || attempt >= MAX_STALE_RETRIES) throw new SessionNotFoundError(oldId);
          }
        }, this.knownAccess(oldId, view))
        .catch((err: unknown) => failedWrite(err, `regeneration of session ${oldId}`, () => this.invalidator.apply(change)));
      this.invalidator.apply(change);
      if (snapshot === null) throw new SessionNotFoundError(oldId);
      view.invalidate();
      const accessed = Math.max(snapshot.lastAccessed, this.lastAccess.pendingFor(oldId) ?? 0);
      this.lastAccess.forget([oldId]);
      this.cache.commit(snapshot, ticket, accessed);
      return this.view(snapshot, false, accessed);
    } finally {
      this.cache.end(ticket);
    }
  }

  /** Drops every cached session, on this node and on every other node. Stored data is untouched. */
  async clearEntireCache(): Promise<void> {
    const change = { type: 'all', ids: [] } satisfies SessionChange;
    this.invalidator.apply(change);
    await this.store.notifyCacheOnly(this.invalidator.payload(change));
  }

  /** Drops a user's cached sessions on every node. Stored data is untouched. */
  async removeAllUserCachedSessionsFromAllNodes(userId: string): Promise<void> {
    assertIdentifier(userId, 'userId');
    const change = { type: 'user', ids: [userId] } satisfies SessionChange;
    this.invalidator.apply(change);
    await this.store.notifyCacheOnly(this.invalidator.payload(change));
  }

  /**
   * Runs one cleanup pass now: writes this node's pending accesses, then deletes
   * expired sessions and attributes. Only one node's pass runs at a time; when
   * another is running this returns 0.
   * @returns the number of sessions deleted.
   */
  async cleanupExpiredSessions(): Promise<number> {
    await this.lastAccess.flush();
    const result = await this.store.cleanup(this.inactivity);
    if (result === null) return 0;
    this.cleanupRuns++;
    this.cleanupDeleted += result.ids.length;
    if (result.ids.length > 0) {
      this.invalidator.apply({ type: 'sessions', ids: result.ids });
      this.lastAccess.forget(result.ids);
    }
    return result.ids.length;
  }

  /** Writes the accesses this node has accumulated now, in batches of `lastAccessUpdateBatchSize`. */
  flushLastAccess(): Promise<void> {
    return this.lastAccess.flush();
  }

  /** Counters of this node. */
  stats(): SessionStats {
    return {
      cacheSize: this.cache.size,
      cacheHits: this.hits,
      cacheMisses: this.misses,
      notificationsReceived: this.sync.notificationsReceived,
      resyncs: this.sync.resyncs,
      listening: this.sync.listening,
    };
  }

  /**
   * Counters of the background work (for the metrics): cleanup passes this node ran and
   * sessions they deleted, last-access flush statements and rows written.
   * @internal
   */
  workCounters(): { cleanupRuns: number; cleanupDeleted: number; lastAccessFlushes: number; lastAccessRows: number } {
    return {
      cleanupRuns: this.cleanupRuns,
      cleanupDeleted: this.cleanupDeleted,
      lastAccessFlushes: this.lastAccess.statements,
      lastAccessRows: this.lastAccess.rowsWritten,
    };
  }

  // ---- Internal hooks of the framework stores (lib/framework-stores); not public API ----

  /**
   * Creates a session under `id` (a framework store's hashed session id) with the given
   * attribute values; `userId` '' is a session of no user, which no user's `maxSessions`
   * counts. Returns null when a session with that id exists already.
   * @internal
   */
  async createSessionWithId(
    id: string,
    userId: string,
    values: Record<string, unknown>,
    options: { groupId: string | null; expiresAt: number | null; includeInactivity: boolean },
  ): Promise<Session | null> {
    if (userId !== '') assertIdentifier(userId, 'userId');
    const keys: string[] = [];
    const encoded: string[] = [];
    for (const [key, value] of Object.entries(values)) {
      assertAttributeKey(key);
      keys.push(key);
      encoded.push(encodeAttribute(key, value, this.maxAttributeLength));
    }
    const pending = userId === '' ? { ids: [], times: [] } : this.pendingAccessesOf(userId);
    const ticket = this.cache.begin();
    try {
      const created = await this.store
        .createIfAbsent({
          id, userId, groupId: options.groupId, expiresAt: options.expiresAt, defaultLifetime: this.options.sessionExpiration,
          includeInactivity: options.includeInactivity, keys, values: encoded, expiries: keys.map(() => null),
          pendingIds: pending.ids, pendingTimes: pending.times, maxSessions: this.options.maxSessions,
        })
        .catch((err: unknown) =>
          failedWrite(err, `creation of session ${id}`, () => (userId === '' ? this.cache.invalidateSessions([id]) : this.cache.invalidateUsers([userId]))),
        );
      if (created === null) return null;
      if (created.evicted.length > 0) {
        this.invalidator.apply({ type: 'sessions', ids: created.evicted });
        this.lastAccess.forget(created.evicted);
      }
      this.cache.commit(created.snapshot, ticket, created.snapshot.lastAccessed);
      return this.view(created.snapshot, false, created.snapshot.lastAccessed);
    } finally {
      this.cache.end(ticket);
    }
  }

  /**
   * Saves `session`'s pending changes (and `expiresAt`) and gives the session to
   * `userId`, in one transaction that also applies the user's `maxSessions`. Returns the
   * new state (read back from the database).
   * @throws SessionNotFoundError when the session is gone.
   * @internal
   */
  async assignSessionUser(session: Session, userId: string, expiresAt?: Date, includeInactivity?: boolean): Promise<Session> {
    assertIdentifier(userId, 'userId');
    const view = this.ownView(session);
    const cmd = view.isModified || expiresAt !== undefined || includeInactivity !== undefined ? this.updateCommand(view, { notify: false, expiresAt, includeInactivity }) : null;
    const pending = this.pendingAccessesOf(userId);
    const result = await this.store.assignUser(view.id, userId, cmd, this.options.maxSessions, pending.ids, pending.times).catch((err: unknown) =>
      failedWrite(err, `assignment of session ${view.id} to user ${JSON.stringify(userId)}`, () => {
        this.cache.invalidateSessions([view.id]);
        this.cache.invalidateUsers([userId]);
      }),
    );
    // Its owner changed under every cached copy (the statement notified the other nodes).
    this.cache.invalidateSessions([view.id]);
    if (result === null) throw new SessionNotFoundError(view.id);
    if (result.evicted.length > 0) {
      this.invalidator.apply({ type: 'sessions', ids: result.evicted });
      this.lastAccess.forget(result.evicted);
    }
    return this.getSession(view.id, { updateLastAccess: false });
  }

  /** The module's lifetimes a framework store applies to its cookies. @internal */
  get frameworkLifetimes(): { sessionExpiration: number; lastAccessUpdateInterval: number } {
    return { sessionExpiration: this.options.sessionExpiration, lastAccessUpdateInterval: this.options.lastAccessUpdateInterval };
  }

  /** Live sessions of a group, counted in the database. @internal */
  countGroupSessions(groupId: string): Promise<number> {
    assertIdentifier(groupId, 'groupId');
    return this.store.countGroup(groupId, this.inactivity);
  }

  /** The live attributes (JSON text) of a group's live sessions, by session id. @internal */
  groupSessionAttributes(groupId: string): Promise<Map<string, { expiresAt: number; attributes: Array<[string, string]> }>> {
    assertIdentifier(groupId, 'groupId');
    return this.store.groupAttributes(groupId, this.inactivity);
  }

  /** This node's latest known accesses of a user's sessions (for the eviction order). */
  private pendingAccessesOf(userId: string): { ids: string[]; times: number[] } {
    const ids: string[] = [];
    const times: number[] = [];
    for (const id of this.cache.userSessionIds(userId)) {
      const at = this.lastAccess.latestFor(id);
      if (at > 0) {
        ids.push(id);
        times.push(at);
      }
    }
    return { ids, times };
  }

  private async load(id: string, options: GetSessionOptions | undefined): Promise<Session> {
    if (options?.minVersion !== undefined && !Number.isFinite(options.minVersion)) {
      throw new TypeError('minVersion must be a number.');
    }
    const ticket = this.cache.begin();
    try {
      const snapshot = await this.store.get(id);
      this.misses++;
      if (snapshot === null) {
        this.cache.invalidateSessions([id]);
        throw new SessionNotFoundError(id);
      }
      const now = Date.now();
      let accessed = Math.max(snapshot.lastAccessed, this.lastAccess.latestFor(id));
      if (snapshot.expiresAt <= now || (snapshot.includeInactivity && now - accessed > this.inactivity)) {
        this.cache.invalidateSessions([id]);
        throw new SessionNotFoundError(id);
      }
      if (options?.updateLastAccess !== false) {
        accessed = now;
        this.lastAccess.record(id, now);
      }
      this.cache.offer(snapshot, ticket, accessed);
      return this.view(snapshot, false, accessed);
    } finally {
      this.cache.end(ticket);
    }
  }

  private view(snapshot: SessionSnapshot, fromCache: boolean, lastAccessed: number): SessionView {
    return new SessionView(snapshot, fromCache, lastAccessed, this.maxAttributeLength);
  }

  private ownView(session: Session): SessionView {
    if (!(session instanceof SessionView)) {
      throw new TypeError('Expected a Session returned by this SessionService (createSession/getSession/updateSession).');
    }
    if (session.isInvalidated) throw new SessionInvalidatedError(session.id);
    return session;
  }

  private updateCommand(view: SessionView, options: UpdateSessionOptions): UpdateCommand {
    const expiresAt = options.expiresAt === undefined ? null : expiryMillis(options.expiresAt, 'expiresAt');
    const includeInactivity = options.includeInactivity ?? null;
    if (includeInactivity !== null && typeof includeInactivity !== 'boolean') throw new TypeError('includeInactivity must be a boolean.');
    const changes = view.pendingChanges();
    const setKeys = new Array<string>(changes.size);
    const setValues = new Array<string>(changes.size);
    const setExpiries = new Array<number | null>(changes.size);
    let k = 0;
    for (const [key, change] of changes) {
      setKeys[k] = key;
      setValues[k] = change.json;
      setExpiries[k++] = change.expiresAt;
    }
    // Shared empty lists where nothing is deleted or checked (the usual update): none is ever mutated.
    const deletions = view.pendingDeletions();
    const deleteKeys = deletions.size === 0 ? NONE : [...deletions];
    const checkedKeys = options.checkAttributeVersion === true ? [...setKeys, ...deleteKeys] : NONE;
    const groupId = view.pendingGroupId();
    const notify = options.notify !== false && this.options.notifyOnUpdates;
    return {
      id: view.id,
      checkVersion: options.checkVersion === true,
      expectedVersion: view.version,
      checkedKeys,
      checkedVersions: checkedKeys.length === 0 ? NO_VERSIONS : readVersions(view, checkedKeys),
      setKeys,
      setValues,
      setExpiries,
      deleteKeys,
      groupChanged: groupId !== undefined,
      groupId: groupId ?? null,
      expiresAt,
      includeInactivity,
      notifyOnSuccess: notify,
      notifyOnFailure: this.options.notifyOnFailedUpdates,
      lastAccess: this.knownAccess(view.id, view),
      base: view.snapshot,
    };
  }

  /**
   * The latest access of a session this node knows of (the caller's copy, the cache,
   * accesses not yet written), for the idle check of a write; null when none.
   */
  private knownAccess(id: string, view: SessionView): number | null {
    const at = Math.max(view.lastAccessedMs, this.lastAccess.latestFor(id));
    return at > 0 ? at : null;
  }

  private checkId(sessionId: string): string {
    const id = canonicalSessionId(sessionId);
    if (id === null) throw new InvalidSessionIdError(sessionId);
    return id;
  }
}

const NONE: readonly string[] = Object.freeze([]);
const NO_VERSIONS: readonly number[] = Object.freeze([]);

/** The versions `view` read of `keys`, now (0 where absent or expired). */
function readVersions(view: SessionView, keys: readonly string[]): number[] {
  const now = Date.now();
  return keys.map((key) => view.readVersion(key, now));
}

/**
 * After a failed write: drops from this node's cache whatever the write may have
 * changed (always safe), then rethrows. A failure that may have come after the commit
 * becomes a {@link CommitOutcomeUnknownError}, so the caller does not take it for a
 * write that certainly did not happen.
 */
function failedWrite(err: unknown, operation: string, drop: () => void): never {
  drop();
  if (err instanceof SessionError || commitOutcome(err) === 'not-committed') throw err;
  throw new CommitOutcomeUnknownError(operation, { cause: err });
}
