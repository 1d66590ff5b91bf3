/**
 * A lease lock on one resource of one session, shared by every node of the
 * deployment. Create one with {@link LockService.createLock}; each object is its own
 * owner, so two objects exclude each other even on the same node.
 *
 * A lock object can be locked, unlocked and locked again. It is not re-entrant:
 * calling `lock()` on an object that holds the lock is an error.
 *
 * @example
 * const lock = locks.createLock(session.id, 'checkout');
 * await lock.lock();
 * try {
 *   await charge(order, { fencingToken: lock.fencingToken!, signal: lock.signal });
 * } finally {
 *   await lock.unlock();
 * }
 */
export interface DistributedLock {
  /** The locked resource's name (any string of 1–255 characters, scoped to the session). */
  readonly resource: string;
  /** The session the lock belongs to (canonical lower-case UUID). */
  readonly sessionId: string;
  /**
   * True while this object holds a live lease, as far as it can tell. It turns false
   * on `unlock()`, and as soon as the lease is known or assumed lost: a heartbeat or
   * `extendLease()` found it gone, or the lease's time ran out without a successful
   * renewal (timed conservatively on this node's monotonic clock, so it turns false
   * before the database would give the lock to someone else, never after).
   */
  readonly isHeld: boolean;
  /**
   * The fencing token of the current acquisition while {@link isHeld}, else `null`.
   * Tokens strictly increase with every successful `lock()` of the same (session,
   * resource) on any node. Pass it to the systems you write to while holding the
   * lock, and have them reject a write whose token is lower than one they have
   * already seen: that stops a holder which paused past its lease (GC, a stopped VM,
   * a network partition) from overwriting its successor's work.
   */
  readonly fencingToken: number | null;
  /**
   * Aborted when the current acquisition ends: after `unlock()`, when the lease was
   * lost (expired, taken over, or the session was deleted; `signal.reason` is then a
   * `LockExpiredError`), or when the application shuts down and heartbeats stop
   * (the lease then runs out by itself). Each successful `lock()` starts a fresh
   * signal, so read it after `lock()` resolves. Use it to stop work you must not
   * finish without the lock: `signal.throwIfAborted()`, or pass it to `fetch` and
   * other abortable APIs.
   */
  readonly signal: AbortSignal;
  /**
   * Acquires the lock: tries once, then up to `maxRetries` more times `retryDelay`
   * apart while another holder's lease is live. On success {@link isHeld} is true,
   * {@link fencingToken} is set and, unless the heartbeat is off, the lease is
   * renewed every `heartbeatInterval` until `unlock()`.
   * @throws LockHeldError when another holder's lease stayed live through every attempt.
   * @throws SessionNotFoundError when the session does not exist or has expired.
   * @throws Error when this object already holds the lock or a `lock()` is in progress,
   *   or after the application was shut down. Database errors are passed on as they
   *   are; the lock is then not held (a lease that may have been written is released).
   */
  lock(): Promise<void>;
  /**
   * Releases the lock and stops the heartbeat. When the lease was already lost
   * (expired, taken over, session deleted) or this object already unlocked it,
   * it resolves without effect, so it is safe in `finally` blocks.
   * @throws LockNotHeldError when this object never acquired the lock.
   * Database errors are passed on; the lease then still runs out by itself.
   */
  unlock(): Promise<void>;
  /**
   * Makes the current lease last at least `duration` ms from now (database clock);
   * a longer remaining lease is kept, never shortened. Heartbeats continue as before.
   * @throws TypeError when `duration` is not a positive, finite number.
   * @throws LockNotHeldError when this object does not hold the lock (never acquired or unlocked).
   * @throws LockExpiredError when the lease ran out, was taken over, or the session was deleted.
   */
  extendLease(duration: number): Promise<void>;
}
