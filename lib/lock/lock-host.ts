import type { LoggerService } from '@nestjs/common';
import type { LockStore } from '../store/lock.store.js';

/** What the host needs from a lock it tracks. */
export interface SuspendableLock {
  /**
   * Stops the lock's timers for good (no more heartbeats), tells its holder through
   * its signal, and resolves once no query of the lock's own is still running.
   */
  suspend(reason: Error): Promise<void>;
}

/**
 * What every lock object of one module instance shares: the store, the logger,
 * and the set of locks that have timers or queries of their own, so shutdown can
 * stop them all. Internal.
 */
export class LockHost {
  private readonly active = new Set<SuspendableLock>();
  private stopped = false;
  /** Acquisitions, held locks and losses of this node (read lazily by the metrics). */
  readonly counters = { acquired: 0, held: 0, lost: 0 };

  constructor(
    readonly store: LockStore,
    readonly logger: LoggerService,
  ) {}

  /** True once the application began shutting down: no new acquisition, no new timer. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Registers a lock that is acquiring or held. */
  track(lock: SuspendableLock): void {
    this.active.add(lock);
  }

  /** Forgets a lock that no longer holds anything. */
  untrack(lock: SuspendableLock): void {
    this.active.delete(lock);
  }

  /**
   * Stops every heartbeat without releasing any lock: their leases run out by
   * themselves, which is what other nodes rely on when a node goes away. Safe to call twice.
   */
  async shutdown(): Promise<void> {
    this.stopped = true;
    const locks = [...this.active];
    this.active.clear();
    await Promise.all(
      locks.map((lock) =>
        lock.suspend(new Error('nestjs-pg-session: the application is shutting down; lock heartbeats stopped, so this lease will run out by itself.')),
      ),
    );
  }
}
