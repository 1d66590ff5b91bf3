/**
 * Options of one lock ({@link LockService.createLock}, {@link LockService.withLock}).
 * Durations are milliseconds. Invalid values throw a `TypeError` naming the option.
 */
export interface LockOptions {
  /**
   * How many more times `lock()` tries when the lock is held by someone else,
   * before it rejects with `LockHeldError`. `0`: one attempt only.
   * @default 2
   */
  maxRetries?: number | undefined;
  /**
   * Pause between two attempts of `lock()`.
   * @default 1
   */
  retryDelay?: number | undefined;
  /**
   * How often the holder extends its lease while it holds the lock. A value of
   * `leaseTime` or more switches the heartbeat off: the lease then lasts `leaseTime`
   * unless `extendLease()` is called.
   * @default 10000
   */
  heartbeatInterval?: number | undefined;
  /**
   * Length of a lease, on the database clock. A holder that stops renewing it (its
   * process died, hung or lost the database) loses the lock this long after its
   * last successful renewal.
   * @default 60000
   */
  leaseTime?: number | undefined;
}

/** {@link LockOptions} after validation, with every default applied. Internal. */
export interface ResolvedLockOptions {
  readonly maxRetries: number;
  readonly retryDelay: number;
  /** `null`: no heartbeat (`heartbeatInterval >= leaseTime`). */
  readonly heartbeatInterval: number | null;
  readonly leaseTime: number;
}
