/**
 * Marks the state of the cache when a database operation began. The result of that
 * operation may enter the cache only if nothing it covers was invalidated since.
 */
export interface CacheTicket {
  readonly seq: number;
  readonly epoch: number;
}

/** What a cached result covers: its session, its user and its group (if any). */
export interface CoveredKeys {
  readonly id: string;
  readonly userId: string;
  readonly groupId: string | null;
}

/**
 * The ticket/generation protocol that keeps stale reads out of the cache, apart from
 * the cache itself (it holds no entries and knows nothing of SQL):
 *
 * - every invalidation stamps its key (session, user or group) with a new sequence
 *   number; dropping everything, or a gap in what the node hears, bumps an epoch;
 * - a database operation takes a ticket ({@link begin}) before its query, and its result
 *   may be cached only if neither the epoch nor a stamp on its session, user or group
 *   moved since ({@link isStale}). Otherwise a read that began before another node's
 *   commit could put the old copy back after that commit's notification was applied;
 * - stamps are kept only while a ticket in flight could be older than them ({@link end}).
 */
export class CacheGenerations {
  private seq = 0;
  private epoch = 0;
  /**
   * Session id, user id, group id → seq of its latest invalidation, one map per kind
   * (no key built per stamp or check: every update stamps and checks), each kept in seq
   * order (a re-stamped key moves to the end), so pruning stops at the first stamp
   * still needed.
   */
  private readonly sessionStamps = new Map<string, number>();
  private readonly userStamps = new Map<string, number>();
  private readonly groupStamps = new Map<string, number>();
  /** Tickets of operations in flight, in the order they began (so by seq): the first is the oldest. */
  private readonly inFlight = new Set<CacheTicket>();

  /** Starts a database operation whose result may be offered to the cache. */
  begin(): CacheTicket {
    const ticket: CacheTicket = { seq: this.seq, epoch: this.epoch };
    this.inFlight.add(ticket);
    return ticket;
  }

  /** Ends an operation started with {@link begin} (whether or not it offered anything). */
  end(ticket: CacheTicket): void {
    this.inFlight.delete(ticket);
    if (this.inFlight.size === 0) {
      // (Only when there is something to clear: clear() allocates a new table.)
      if (this.sessionStamps.size > 0) this.sessionStamps.clear();
      if (this.userStamps.size > 0) this.userStamps.clear();
      if (this.groupStamps.size > 0) this.groupStamps.clear();
    } else if (this.sessionStamps.size > 0 || this.userStamps.size > 0 || this.groupStamps.size > 0) {
      const oldest = this.inFlight.values().next().value?.seq ?? Infinity;
      // (An empty map is skipped: iterating one still allocates an iterator, on every write.)
      if (this.sessionStamps.size > 0) prune(this.sessionStamps, oldest);
      if (this.userStamps.size > 0) prune(this.userStamps, oldest);
      if (this.groupStamps.size > 0) prune(this.groupStamps, oldest);
    }
  }

  /** Records an invalidation of one session. */
  stampSession(id: string): void {
    this.stamp(this.sessionStamps, id);
  }

  /** Records an invalidation of every session of a user. */
  stampUser(userId: string): void {
    this.stamp(this.userStamps, userId);
  }

  /** Records an invalidation of every session of a group. */
  stampGroup(groupId: string): void {
    this.stamp(this.groupStamps, groupId);
  }

  /** Makes every ticket taken so far stale, whatever it covers. */
  bumpEpoch(): void {
    this.epoch++;
  }

  /** Whether something `keys` covers was invalidated (or the epoch moved) after `ticket` was taken. */
  isStale(keys: CoveredKeys, ticket: CacheTicket): boolean {
    if (ticket.epoch !== this.epoch) return true;
    if (ticket.seq === this.seq) return false;
    return (
      (this.sessionStamps.get(keys.id) ?? 0) > ticket.seq ||
      (this.userStamps.get(keys.userId) ?? 0) > ticket.seq ||
      (keys.groupId !== null && (this.groupStamps.get(keys.groupId) ?? 0) > ticket.seq)
    );
  }

  /** Number of stamps kept (tests and diagnostics: it returns to 0 when nothing is in flight). */
  get stampCount(): number {
    return this.sessionStamps.size + this.userStamps.size + this.groupStamps.size;
  }

  private stamp(stamps: Map<string, number>, key: string): void {
    // With nothing in flight no ticket can be older than this stamp, and tickets taken
    // later begin at or after it: keeping it would only grow the map on a node that
    // hears invalidations without reading (end() clears only when a ticket ends).
    if (this.inFlight.size === 0) return;
    stamps.delete(key); // re-inserted at the end: the map stays in seq order
    stamps.set(key, ++this.seq);
  }
}

/**
 * Drops the stamps no ticket in flight can be older than (`oldest`: the oldest ticket's
 * seq). Stamps and tickets are both in seq order, so this visits only what it removes
 * plus one: O(1) amortised per stamp, however long the oldest ticket stays open.
 */
function prune(stamps: Map<string, number>, oldest: number): void {
  for (const [key, seq] of stamps) {
    if (seq > oldest) break;
    stamps.delete(key);
  }
}
