import { LRUCache } from 'lru-cache';
import type { SessionSnapshot } from '../session/session-snapshot.js';
import { CacheGenerations, type CacheTicket } from './cache.generations.js';
import { lastTickBefore, NO_LIMIT_TICKS, tickOf, ticksWithin } from './coarse-clock.js';

/** One cached session: the shared immutable snapshot plus node-local bookkeeping. */
export interface CacheEntry {
  readonly snapshot: SessionSnapshot;
  /** When this node cached it (local clock; only compared with the local clock). */
  readonly cachedAt: number;
  /** Latest access this node has seen (epoch ms); only ever grows. Set with {@link recordAccess}. */
  lastAccess: number;
  /** True while `lastAccess` has not been handed to the batched writer. */
  accessed: boolean;
  /**
   * For the hit path, in coarse ticks (see `coarse-clock.ts`), all kept inline in the
   * entry: up to which tick the copy is certainly neither expired nor past its time
   * in the cache, the tick of `lastAccess`, and how many ticks after it the session
   * is certainly not idle too long. Outside these the exact checks decide.
   */
  readonly freshUntilTick: number;
  accessTick: number;
  readonly idleTicks: number;
}

/** Sets an entry's latest access (and its tick, when the caller has it already). */
export function recordAccess(entry: CacheEntry, at: number, tick: number = tickOf(at)): void {
  entry.lastAccess = at;
  entry.accessTick = tick;
}

/** Limits the cache applies to what it serves (see `maxSessionLifetimeInCache`, `inactivityDuration`). */
export interface CacheLimits {
  readonly lifetimeInCache: number;
  readonly inactivity: number;
}

/**
 * The per-node LRU cache of session snapshots, with user and group indexes. Every
 * invalidation is also recorded in its {@link CacheGenerations}, and a database result
 * enters the cache only with a ticket that is not stale there (see `cache.generations.ts`).
 *
 * Knows nothing of SQL.
 */
export class SessionCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly byUser: IdIndex = new Map();
  private readonly byGroup: IdIndex = new Map();
  /** Tickets and invalidation stamps: decides whether a database result may still be cached. */
  private readonly generations = new CacheGenerations();
  private serving = true;
  private hasLeaveListener = false;
  /** Told of every entry that leaves the cache (evicted, invalidated, cleared); see {@link setLeaveListener}. */
  private onLeave: (entry: CacheEntry) => void = () => undefined;

  constructor(
    readonly capacity: number,
    private readonly limits: CacheLimits = { lifetimeInCache: Infinity, inactivity: Infinity },
  ) {
    this.lru = new LRUCache<string, CacheEntry>({
      max: capacity,
      noDisposeOnSet: true,
      dispose: (entry, id) => {
        this.unindex(entry.snapshot, id);
        this.onLeave(entry);
      },
    });
  }

  /**
   * Sets the one listener told of every entry that leaves the cache (evicted,
   * invalidated, cleared): the last-access writer, which takes over the entry's
   * unwritten access. Wired once, in `session.providers.ts`.
   * @throws Error when a listener is set already.
   */
  setLeaveListener(listener: (entry: CacheEntry) => void): void {
    if (this.hasLeaveListener) throw new Error('SessionCache: a leave listener is set already.');
    this.hasLeaveListener = true;
    this.onLeave = listener;
  }

  /** Number of cached sessions. */
  get size(): number {
    return this.lru.size;
  }

  /** False while the node cannot trust its cache (e.g. its LISTEN connection is down). */
  get isServing(): boolean {
    return this.serving;
  }

  /**
   * Stops (`false`) or resumes (`true`) serving and accepting entries. Stopping drops
   * nothing by itself; the caller decides what to re-check before resuming.
   */
  setServing(serving: boolean): void {
    // Both edges move the epoch. Stopping: whatever is in flight may miss the next
    // notifications. Resuming: an operation that began before (or during) the gap may
    // hold data that a change nobody heard of made stale, and the resync could not
    // check it, since it was not cached yet. Only operations begun after this call,
    // with LISTEN active again, may fill the cache.
    if (serving !== this.serving) this.generations.bumpEpoch();
    this.serving = serving;
  }

  /**
   * The entry for `id`; undefined when absent or not serving. Its recency is refreshed
   * at most once per coarse tick (when its access tick is not the current one): moving
   * an entry to the head of the LRU list writes to list nodes scattered in memory, and
   * an order exact to the second is all eviction needs.
   */
  get(id: string, tick: number = tickOf(Date.now())): CacheEntry | undefined {
    if (!this.serving) return undefined;
    const entry = this.lru.peek(id);
    if (entry !== undefined && entry.accessTick !== tick) this.lru.get(id);
    return entry;
  }

  /** Starts a database operation whose result may be offered to the cache. */
  begin(): CacheTicket {
    return this.generations.begin();
  }

  /** Ends an operation started with {@link begin} (whether or not it offered anything). */
  end(ticket: CacheTicket): void {
    this.generations.end(ticket);
  }

  /**
   * Caches a snapshot read from the database, unless something it covers was
   * invalidated after `ticket` was taken, or a newer version is already cached.
   * @returns whether it was cached.
   */
  offer(snapshot: SessionSnapshot, ticket: CacheTicket, lastAccess: number): boolean {
    if (!this.serving || this.generations.isStale(snapshot, ticket)) return false;
    const current = this.lru.peek(snapshot.id);
    if (current !== undefined && current.snapshot.version > snapshot.version) return false;
    this.put(snapshot, Math.max(lastAccess, current?.lastAccess ?? 0));
    return true;
  }

  /**
   * Caches the state this node just committed. Concurrent reads of the session that
   * began before the commit can no longer cache their (older) result. If the session
   * was invalidated meanwhile by someone else, the entry is dropped instead.
   */
  commit(snapshot: SessionSnapshot, ticket: CacheTicket, lastAccess: number): void {
    const stale = this.generations.isStale(snapshot, ticket);
    this.generations.stampSession(snapshot.id);
    if (stale || !this.serving) {
      this.lru.delete(snapshot.id);
      return;
    }
    this.put(snapshot, lastAccess);
  }

  /** Drops sessions by id. */
  invalidateSessions(ids: Iterable<string>): void {
    for (const id of ids) {
      this.generations.stampSession(id);
      this.lru.delete(id);
    }
  }

  /** Drops every cached session of these users. */
  invalidateUsers(userIds: Iterable<string>): void {
    for (const userId of userIds) {
      this.generations.stampUser(userId);
      for (const id of idsOf(this.byUser, userId)) this.lru.delete(id);
    }
  }

  /** Drops every cached session of these groups. */
  invalidateGroups(groupIds: Iterable<string>): void {
    for (const groupId of groupIds) {
      this.generations.stampGroup(groupId);
      for (const id of idsOf(this.byGroup, groupId)) this.lru.delete(id);
    }
  }

  /** Drops everything; reads in flight cannot cache their results. */
  clear(): void {
    this.generations.bumpEpoch();
    this.byUser.clear();
    this.byGroup.clear();
    this.lru.clear();
  }

  /** Ids of this user's cached sessions. */
  userSessionIds(userId: string): string[] {
    return idsOf(this.byUser, userId);
  }

  /** Entry without touching recency (internal checks). */
  peek(id: string): CacheEntry | undefined {
    return this.lru.peek(id);
  }

  /** `[id, version]` of every cached session (for a resync). */
  versions(): Array<[string, number]> {
    const result: Array<[string, number]> = [];
    for (const [id, entry] of this.lru.entries()) result.push([id, entry.snapshot.version]);
    return result;
  }

  /** Drops `id` if its cached version is still `version` (resync of one entry). */
  dropIfVersion(id: string, version: number | undefined): void {
    const entry = this.lru.peek(id);
    if (entry !== undefined && entry.snapshot.version !== version) {
      this.generations.stampSession(id);
      this.lru.delete(id);
    }
  }

  private put(snapshot: SessionSnapshot, lastAccess: number): void {
    const previous = this.lru.peek(snapshot.id);
    if (previous !== undefined && previous.snapshot.groupId !== snapshot.groupId && previous.snapshot.groupId !== null) {
      removeFrom(this.byGroup, previous.snapshot.groupId, snapshot.id);
    }
    const cachedAt = Date.now();
    this.lru.set(snapshot.id, {
      snapshot,
      cachedAt,
      lastAccess,
      accessed: previous?.accessed ?? false,
      freshUntilTick: lastTickBefore(Math.min(cachedAt + this.limits.lifetimeInCache, snapshot.expiresAt)),
      accessTick: tickOf(lastAccess),
      idleTicks: snapshot.includeInactivity ? ticksWithin(this.limits.inactivity) : NO_LIMIT_TICKS,
    });
    // A session replacing its own entry is indexed already unless its user or group changed.
    if (previous?.snapshot.userId !== snapshot.userId) addTo(this.byUser, snapshot.userId, snapshot.id);
    if (snapshot.groupId !== null && previous?.snapshot.groupId !== snapshot.groupId) addTo(this.byGroup, snapshot.groupId, snapshot.id);
  }

  private unindex(snapshot: SessionSnapshot, id: string): void {
    removeFrom(this.byUser, snapshot.userId, id);
    if (snapshot.groupId !== null) removeFrom(this.byGroup, snapshot.groupId, id);
  }
}

/**
 * Session ids per user or group. Most users have one cached session, so a lone id is
 * kept as the bare string and a `Set` is made only for the second one.
 */
type IdIndex = Map<string, string | Set<string>>;

function addTo(index: IdIndex, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined || ids === id) index.set(key, id);
  else if (typeof ids === 'string') index.set(key, new Set([ids, id]));
  else ids.add(id);
}

function removeFrom(index: IdIndex, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) return;
  if (typeof ids === 'string') {
    if (ids === id) index.delete(key);
    return;
  }
  ids.delete(id);
  if (ids.size === 1) index.set(key, ids.values().next().value!);
  else if (ids.size === 0) index.delete(key);
}

/** A copy of the ids under `key` (safe to iterate while deleting). */
function idsOf(index: IdIndex, key: string): string[] {
  const ids = index.get(key);
  if (ids === undefined) return [];
  return typeof ids === 'string' ? [ids] : [...ids];
}
