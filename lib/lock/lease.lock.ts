import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockExpiredError, LockHeldError, LockNotHeldError, SessionNotFoundError } from '../errors/session.errors.js';
import type { AcquireResult, LockKey } from '../store/lock.store.js';
import type { DistributedLock } from './distributed-lock.interface.js';
import type { ResolvedLockOptions } from './lock-options.interface.js';
import type { LockHost, SuspendableLock } from './lock-host.js';
import { monotonicNow, safetyMargin, unrefTimeout } from './lease-timer.js';
import { assertDuration } from './resolve-lock-options.js';
import { logId } from '../session/log-id.js';

/**
 * - `idle`: never acquired (or the last `lock()` failed before any acquisition)
 * - `held`: acquired; the lease may still run out before a timer notices (see `isHeld`)
 * - `lost`: this object held it and lost it (lease over, taken over, session gone)
 * - `released`: `unlock()` ended the last acquisition
 * - `unreleased`: `unlock()` failed with a database error; the lease may still be live
 *   (no longer renewed), and another `unlock()` tries again
 */
type LockState = 'idle' | 'held' | 'lost' | 'released' | 'unreleased';

/**
 * The {@link DistributedLock} implementation: a lease row per (session, resource)
 * whose owner is this object's random id. Internal; users hold the interface.
 *
 * The database decides who holds a lock (its clock, one statement per step). This
 * object keeps a conservative local deadline on the monotonic clock: the time each
 * successful statement was *sent* plus the lease the database reported. Because the
 * database's `now()` is never earlier than the send time, the local deadline passes
 * no later than the real lease end (minus a small {@link safetyMargin}), so the holder
 * learns of a loss before anyone else can acquire, even when it cannot reach the
 * database at all.
 */
export class LeaseLock implements DistributedLock, SuspendableLock {
  private readonly key: LockKey;
  private state: LockState = 'idle';
  private everHeld = false;
  /** Token of the current (or last) acquisition. */
  private token: number | null = null;
  /** Monotonic instant by which the current lease is surely still live. */
  private deadline = 0;
  /** Bumped whenever an acquisition starts or ends: late results of an older one are ignored. */
  private epoch = 0;
  private controller = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private heartbeatRun: Promise<void> | undefined;
  private acquiring: Promise<void> | undefined;
  private releasing: Promise<void> | undefined;
  /** Set at application shutdown: no timer is armed again. */
  private suspended = false;

  constructor(
    private readonly host: LockHost,
    /** @inheritDoc */
    readonly sessionId: string,
    /** @inheritDoc */
    readonly resource: string,
    private readonly options: ResolvedLockOptions,
  ) {
    this.key = { sessionId, resource, owner: randomUUID() };
  }

  /** @inheritDoc */
  get isHeld(): boolean {
    return this.state === 'held' && monotonicNow() < this.deadline;
  }

  /** @inheritDoc */
  get fencingToken(): number | null {
    return this.isHeld ? this.token : null;
  }

  /** @inheritDoc */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** @inheritDoc */
  lock(): Promise<void> {
    if (this.acquiring) return Promise.reject(new Error(`nestjs-pg-session: lock() is already in progress on this lock object (${this.describe()}).`));
    this.expireIfDue();
    if (this.state === 'held') {
      return Promise.reject(new Error(`nestjs-pg-session: this lock object already holds ${this.describe()}; locks are not re-entrant.`));
    }
    if (this.host.closed) return Promise.reject(this.shutdownError());
    this.host.track(this);
    this.acquiring = this.acquire().finally(() => {
      this.acquiring = undefined;
      if (this.state !== 'held') this.host.untrack(this);
    });
    return this.acquiring;
  }

  /** @inheritDoc */
  async unlock(): Promise<void> {
    if (this.acquiring) await this.acquiring.catch(() => undefined);
    if (this.releasing) {
      // A second unlock() while the first is in flight: that one released it, this one holds nothing.
      if (this.state === 'released') throw new LockNotHeldError(this.sessionId, this.resource);
      // lock() re-acquired meanwhile: wait for the old release, then release the new acquisition.
      await this.releasing.catch(() => undefined);
    }
    // Never held, or already released by an earlier unlock(): nothing of this object's to release.
    if (!this.everHeld || this.state === 'released') throw new LockNotHeldError(this.sessionId, this.resource);
    this.expireIfDue();
    const token = this.token!;
    if (this.state === 'lost') {
      // This object already told its holder the lease was lost. Free the row at once if
      // the database still counts the lease (the local deadline runs a little early).
      this.state = 'released';
      await this.host.store.release(this.key, token).catch(() => undefined);
      throw new LockNotHeldError(this.sessionId, this.resource);
    }
    // End the acquisition before the statement: from here no heartbeat or timer acts on it.
    if (this.state === 'held') this.end('released', new LockNotHeldError(this.sessionId, this.resource));
    else this.state = 'released';
    const epoch = this.epoch;
    // The database answers whether the lease was still live: a holder whose lease ran
    // out or was taken over must learn that its critical section was not exclusive,
    // also when this node had not noticed yet.
    this.releasing = this.host.store
      .release(this.key, token)
      .then(
        (wasLive) => {
          // Unless lock() began a new acquisition meanwhile: for the same owner it replaces
          // the lease (new token) before this statement could end it.
          if (!wasLive && epoch === this.epoch) throw new LockNotHeldError(this.sessionId, this.resource);
        },
        (err: unknown) => {
          // Not released: the lease runs out by itself; a later unlock() tries again.
          if (epoch === this.epoch) this.state = 'unreleased';
          throw err;
        },
      )
      .finally(() => {
        this.releasing = undefined;
      });
    return this.releasing;
  }

  /** True once `unlock()` released the last acquisition (so `withLock` has nothing left to release). */
  get releasedByHolder(): boolean {
    return this.state === 'released';
  }

  /** @inheritDoc */
  async extendLease(duration: number): Promise<void> {
    assertDuration(duration);
    this.expireIfDue();
    if (this.state === 'lost') throw new LockExpiredError(this.sessionId, this.resource);
    if (this.state !== 'held') throw new LockNotHeldError(this.sessionId, this.resource);
    const epoch = this.epoch;
    const sent = monotonicNow();
    const remaining = await this.host.store.renew(this.key, this.token!, duration);
    if (remaining === null) {
      if (epoch === this.epoch) this.end('lost', new LockExpiredError(this.sessionId, this.resource));
      throw new LockExpiredError(this.sessionId, this.resource);
    }
    if (epoch === this.epoch) this.extendDeadline(this.localDeadline(sent, remaining));
  }

  /** Called by the host at application shutdown (see {@link SuspendableLock}). */
  async suspend(reason: Error): Promise<void> {
    this.suspended = true;
    this.clearTimers();
    if (this.state === 'held') this.controller.abort(reason);
    await Promise.allSettled([this.acquiring, this.heartbeatRun]);
  }

  private async acquire(): Promise<void> {
    const { maxRetries, retryDelay, leaseTime } = this.options;
    for (let attempt = 0; ; attempt++) {
      if (this.host.closed) throw this.shutdownError();
      const sent = monotonicNow();
      let result: AcquireResult;
      try {
        result = await this.host.store.acquire(this.key, leaseTime);
      } catch (err) {
        // The statement may have committed before the connection failed: never leave
        // a lease behind that nobody will renew or release.
        await this.abandonQuietly();
        throw err;
      }
      if (result.kind === 'acquired') {
        if (this.host.closed) {
          await this.abandonQuietly();
          throw this.shutdownError();
        }
        this.begin(result.fencingToken, this.localDeadline(sent, result.remaining));
        return;
      }
      if (result.kind === 'session-not-found') throw new SessionNotFoundError(this.sessionId);
      if (attempt >= maxRetries) throw new LockHeldError(this.sessionId, this.resource);
      await sleep(retryDelay);
    }
  }

  private begin(token: number, deadline: number): void {
    this.epoch++;
    if (this.controller.signal.aborted) this.controller = new AbortController();
    this.state = 'held';
    this.host.counters.acquired++;
    this.host.counters.held++;
    this.everHeld = true;
    this.token = token;
    this.deadline = deadline;
    this.armDeadline();
    this.scheduleHeartbeat();
  }

  /** Ends the current acquisition: timers off, holder told through the signal. */
  private end(next: 'lost' | 'released', reason: Error): void {
    this.epoch++;
    if (this.state === 'held') this.host.counters.held--;
    if (next === 'lost') this.host.counters.lost++;
    this.state = next;
    this.clearTimers();
    this.host.untrack(this);
    this.controller.abort(reason);
  }

  /** Marks the lock lost when its local deadline has passed; true if it did. */
  private expireIfDue(): boolean {
    if (this.state !== 'held' || monotonicNow() < this.deadline) return false;
    this.end('lost', new LockExpiredError(this.sessionId, this.resource));
    return true;
  }

  /** Local deadline of a lease the database reported `remaining` ms of, to a statement sent at `sent`. */
  private localDeadline(sent: number, remaining: number): number {
    return sent + remaining - safetyMargin(remaining);
  }

  private extendDeadline(deadline: number): void {
    if (deadline <= this.deadline) return;
    this.deadline = deadline;
    this.armDeadline();
  }

  private armDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (this.suspended) return;
    const epoch = this.epoch;
    this.deadlineTimer = unrefTimeout(() => {
      this.deadlineTimer = undefined;
      // A timer may fire a little early, or was clamped: re-arm until the instant is really past.
      if (epoch === this.epoch && !this.expireIfDue()) this.armDeadline();
    }, this.deadline - monotonicNow());
  }

  private scheduleHeartbeat(): void {
    const interval = this.options.heartbeatInterval;
    if (interval === null || this.suspended) return;
    const epoch = this.epoch;
    this.heartbeatTimer = unrefTimeout(() => {
      this.heartbeatTimer = undefined;
      this.heartbeatRun = this.beat(epoch).finally(() => {
        this.heartbeatRun = undefined;
      });
    }, interval);
  }

  /** One heartbeat; never rejects. */
  private async beat(epoch: number): Promise<void> {
    if (epoch !== this.epoch || this.expireIfDue()) return;
    const sent = monotonicNow();
    try {
      const remaining = await this.host.store.renew(this.key, this.token!, this.options.leaseTime);
      if (epoch !== this.epoch) return;
      if (remaining === null) {
        this.end('lost', new LockExpiredError(this.sessionId, this.resource));
        return;
      }
      this.extendDeadline(this.localDeadline(sent, remaining));
    } catch (err) {
      if (epoch !== this.epoch) return;
      // A transient failure is not a loss yet; the local deadline decides if it becomes one.
      this.host.logger.warn(
        `nestjs-pg-session: heartbeat of ${this.describe()} failed; retrying in ${this.options.heartbeatInterval} ms ` +
          `(the lock is given up if its lease runs out first): ${String(err)}`,
      );
    }
    if (epoch === this.epoch) this.scheduleHeartbeat();
  }

  private clearTimers(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.heartbeatTimer = undefined;
    this.deadlineTimer = undefined;
  }

  /** Best-effort release of any live lease of this owner after a failed acquisition. */
  private async abandonQuietly(): Promise<void> {
    try {
      await this.host.store.abandon(this.key);
    } catch (err) {
      this.host.logger.debug?.(`nestjs-pg-session: could not clean up after a failed lock() of ${this.describe()}: ${String(err)}`);
    }
  }

  private shutdownError(): Error {
    return new Error(`nestjs-pg-session: cannot acquire ${this.describe()}: the application is shutting down.`);
  }

  private describe(): string {
    return `lock "${this.resource}" on session ${logId(this.sessionId)}`;
  }
}
