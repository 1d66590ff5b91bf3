import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InvalidSessionIdError, LockExpiredError, LockNotHeldError } from '../errors/session.errors.js';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { RESOLVED_SESSION_OPTIONS } from '../options/internal.tokens.js';
import { canonicalSessionId } from '../session/session-id.js';
import { LockStore } from '../store/lock.store.js';
import { LeaseLock } from './lease.lock.js';
import type { DistributedLock } from './distributed-lock.interface.js';
import type { LockOptions } from './lock-options.interface.js';
import { LockHost } from './lock-host.js';
import { assertResource, resolveLockOptions } from './resolve-lock-options.js';
import { logId } from '../session/log-id.js';

/**
 * Distributed locks scoped to a session: at most one live holder per (session,
 * resource) across every node of the deployment, with leases on the database
 * clock, heartbeats, fencing tokens and a signal that tells a holder it lost the
 * lock. Deleting the session releases its locks.
 *
 * On application shutdown every heartbeat stops; locks are not released, their
 * leases run out (so a node that dies and a node that is closed behave alike).
 */
@Injectable()
export class LockService implements BeforeApplicationShutdown {
  private readonly host: LockHost;

  constructor(store: LockStore, @Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions) {
    this.host = new LockHost(store, options.logger);
  }

  /**
   * Creates a lock object for `resource` of the session; nothing is acquired yet
   * (call `lock()`). Every object is its own owner: two objects exclude each other,
   * on the same node as on different ones.
   * @param sessionId the session's id (a UUID).
   * @param resource a name of 1 to 255 characters, scoped to the session (e.g. `'checkout'`).
   * @throws InvalidSessionIdError when `sessionId` is not a UUID.
   * @throws TypeError for an invalid resource name or option.
   */
  createLock(sessionId: string, resource: string, options?: LockOptions): DistributedLock {
    const id = canonicalSessionId(sessionId);
    if (id === null) throw new InvalidSessionIdError(sessionId);
    assertResource(resource);
    return new LeaseLock(this.host, id, resource, resolveLockOptions(options));
  }

  /**
   * Runs `fn` while holding the lock, and releases it afterwards, also when `fn`
   * throws (its error is then rethrown as is). `fn` receives the lock: watch
   * `lock.signal` in long work, since a lease can be lost midway (a partition, a
   * deleted session). When `fn` succeeded but the lock was lost while it ran (lease
   * over, taken over, session deleted), `withLock` rejects with `LockNotHeldError`:
   * `fn`'s work was not exclusive. When `fn` succeeded but the release fails (a
   * database error), the failure is logged and `fn`'s result is still returned: the
   * work is done, and the lease, no longer renewed, runs out by itself.
   * @throws LockHeldError, SessionNotFoundError, InvalidSessionIdError, TypeError and
   *   database errors from acquiring, as {@link DistributedLock.lock} and {@link createLock}.
   * @throws LockNotHeldError when `fn` succeeded but the lock was lost meanwhile.
   */
  async withLock<T>(sessionId: string, resource: string, fn: (lock: DistributedLock) => Promise<T>, options?: LockOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('nestjs-pg-session: withLock(sessionId, resource, fn) expects fn to be a function.');
    const lock = this.createLock(sessionId, resource, options);
    await lock.lock();
    let result: T;
    try {
      result = await fn(lock);
    } catch (err) {
      await this.releaseQuietly(lock);
      throw err;
    }
    if (lock instanceof LeaseLock && lock.releasedByHolder) return result; // fn released it itself
    try {
      await lock.unlock();
    } catch (err) {
      // The lock was lost while fn ran: its work was not exclusive, and the caller must know.
      if (err instanceof LockNotHeldError || err instanceof LockExpiredError) throw err;
      this.logReleaseFailure(lock, err);
    }
    return result;
  }

  /** Stops every heartbeat of this node, without releasing the locks (see the class comment). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.host.shutdown();
  }

  /**
   * Lock counters of this node (for the metrics).
   * @internal
   */
  get counters(): { readonly acquired: number; readonly held: number; readonly lost: number } {
    return this.host.counters;
  }

  /** Releases after `fn` threw: `fn`'s error is what the caller gets, whatever happened to the lock. */
  private async releaseQuietly(lock: DistributedLock): Promise<void> {
    if (lock instanceof LeaseLock && lock.releasedByHolder) return;
    try {
      await lock.unlock();
    } catch (err) {
      if (!(err instanceof LockNotHeldError)) this.logReleaseFailure(lock, err);
    }
  }

  private logReleaseFailure(lock: DistributedLock, err: unknown): void {
    this.host.logger.warn(
      `nestjs-pg-session: withLock could not release lock "${lock.resource}" on session ${logId(lock.sessionId)}; ` +
        `its lease will run out by itself: ${String(err)}`,
    );
  }
}
