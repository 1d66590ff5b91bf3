import type { LoggerService } from '@nestjs/common';
import { recordAccess, type CacheEntry, type SessionCache } from '../cache/session.cache.js';
import type { SessionStore } from '../store/session.store.js';

/**
 * Accumulates session accesses in memory and writes them in batches: one statement
 * per `batchSize` sessions, on a timer and on demand. Stored times never move
 * backwards (the statement keeps the greatest).
 *
 * A cache hit only stamps its cache entry (and lists the id the first time), so the
 * hot read path does no map work; entries that leave the cache hand their access
 * over to the `pending` map, which also takes accesses of sessions not cached.
 */
export class LastAccessWriter {
  private pending = new Map<string, number>();
  /** Ids of cache entries stamped since the last flush. */
  private touched: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Statements issued by flushes since start (for stats and benchmarks). */
  statements = 0;
  /** Session rows whose last access was written since start (metrics). */
  rowsWritten = 0;

  constructor(
    private readonly store: SessionStore,
    private readonly cache: SessionCache,
    private readonly batchSize: number,
    private readonly interval: number,
    private readonly logger: LoggerService,
  ) {}

  /** Records an access served from the cache (at `at`, in coarse tick `tick`); a few field writes, never I/O. */
  touch(entry: CacheEntry, at: number, tick?: number): void {
    recordAccess(entry, at, tick);
    if (!entry.accessed) {
      entry.accessed = true;
      this.touched.push(entry.snapshot.id);
    }
  }

  /** Records an access of a session that may not be cached; never does I/O. */
  record(id: string, at: number): void {
    const previous = this.pending.get(id);
    if (previous === undefined || previous < at) this.pending.set(id, at);
  }

  /** The pending access of a session, if any. */
  pendingFor(id: string): number | undefined {
    return this.pending.get(id);
  }

  /** Ids with an access not yet handed to a flush (cached entries' stamps not included). */
  pendingIds(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * The latest access of a session this node knows of: its cache entry's or one not yet
   * written, whichever is later; 0 when none.
   */
  latestFor(id: string): number {
    return Math.max(this.cache.peek(id)?.lastAccess ?? 0, this.pending.get(id) ?? 0);
  }

  /** Forgets pending accesses of deleted sessions. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.pending.delete(id);
  }

  get pendingCount(): number {
    return this.pending.size + this.touched.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.logger.error(`Batched last-access write failed; will retry: ${String(err)}`));
    }, this.interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Writes every pending access. Concurrent calls share one run; a call made while a
   * run is writing waits for it and then writes what arrived meanwhile.
   */
  async flush(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
    this.collectTouched();
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.running = this.write(batch).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Moves the stamps of cached entries into `pending`. */
  private collectTouched(): void {
    const touched = this.touched;
    this.touched = [];
    for (const id of touched) {
      const entry = this.cache.peek(id);
      if (entry !== undefined) this.release(entry);
    }
  }

  /**
   * Hands an entry's unwritten access over to `pending`; called for every entry that
   * leaves the cache (see `session.providers.ts`) and for stamped entries at a flush.
   */
  release(entry: CacheEntry): void {
    if (!entry.accessed) return;
    entry.accessed = false;
    this.record(entry.snapshot.id, entry.lastAccess);
  }

  private async writeChunk(chunk: string[], batch: Map<string, number>): Promise<void> {
    const times = chunk.map((id) => batch.get(id)!);
    for (let attempt = 0; ; attempt++) {
      this.statements++;
      try {
        await this.store.flushLastAccess(chunk, times);
        this.rowsWritten += chunk.length;
        return;
      } catch (err) {
        // A deadlock with a multi-row delete elsewhere: the statement was rolled back; run it again.
        if ((err as { code?: string }).code !== '40P01' || attempt >= 2) throw err;
      }
    }
  }

  private async write(batch: Map<string, number>): Promise<void> {
    // Sorted ids: concurrent flushes from several nodes lock rows in the same order.
    const ids = [...batch.keys()].sort();
    for (let start = 0; start < ids.length; start += this.batchSize) {
      const chunk = ids.slice(start, start + this.batchSize);
      try {
        await this.writeChunk(chunk, batch);
      } catch (err) {
        // Put back what was not written, without overwriting newer accesses.
        for (const id of ids.slice(start)) this.record(id, batch.get(id)!);
        throw err;
      }
    }
  }
}
