import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { RESOLVED_SESSION_OPTIONS } from '../options/internal.tokens.js';
import { LockService } from '../lock/lock.service.js';
import { SessionService } from '../session/session.service.js';
import type { UpdateResult } from '../store/session.store.js';
import { SessionStore } from '../store/session.store.js';
import type { BatchOutcome } from '../store/write.batcher.js';

/** Meter (instrumentation scope) name of the module's metrics. */
export const METER_NAME = 'nestjs-pg-session';

/** Outcome attribute values of `nestjs_pg_session.updates`. */
type UpdateOutcome = 'ok' | 'version_conflict' | 'attribute_conflict' | 'not_found' | 'retry' | 'error';

const OUTCOMES: Record<UpdateOutcome, Attributes> = {
  ok: { outcome: 'ok' },
  version_conflict: { outcome: 'version_conflict' },
  attribute_conflict: { outcome: 'attribute_conflict' },
  not_found: { outcome: 'not_found' },
  retry: { outcome: 'retry' },
  error: { outcome: 'error' },
};

function outcomeOf(outcome: BatchOutcome<UpdateResult>): UpdateOutcome {
  if (!outcome.ok) return 'error';
  switch (outcome.value.kind) {
    case 'ok':
    case 'committed-unreadable':
      return 'ok';
    case 'not-found':
      return 'not_found';
    case 'version-conflict':
      return 'version_conflict';
    case 'attribute-conflict':
      return 'attribute_conflict';
    case 'retry':
      return 'retry';
  }
}

/**
 * Publishes this node's counters through the OpenTelemetry metrics API, when
 * `@opentelemetry/api` (an optional peer) is installed: loaded by a dynamic import at
 * module init, so the package root never requires it. Cache and sync counters are plain
 * integers read only when a reader collects (observable instruments): nothing runs per
 * cache hit. Update batches are recorded once per batch. Without a registered SDK the
 * API is a no-op.
 */
@Injectable()
export class SessionMetrics implements OnModuleInit, OnApplicationShutdown {
  private meter: Meter | undefined;
  private observables: Observable[] = [];
  private readonly observe: BatchObservableCallback = (result) => this.collect(result);
  private collect: BatchObservableCallback = () => undefined;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
    private readonly store: SessionStore,
    private readonly locks: LockService,
  ) {}

  async onModuleInit(): Promise<void> {
    let api: typeof import('@opentelemetry/api');
    try {
      api = await import('@opentelemetry/api');
    } catch {
      return; // not installed: no metrics, nothing else changes
    }
    try {
      this.start(api.metrics.getMeter(METER_NAME));
    } catch (err) {
      this.options.logger.warn(`Session metrics are off: the OpenTelemetry meter refused an instrument (${String(err)}). Check the registered SDK's views.`);
    }
  }

  onApplicationShutdown(): void {
    this.store.onUpdateBatch = undefined;
    if (this.meter && this.observables.length > 0) this.meter.removeBatchObservableCallback(this.observe, this.observables);
    this.observables = [];
  }

  private start(meter: Meter): void {
    const p = 'nestjs_pg_session.';
    // Which module instance observes: several (nodes in one process, deployments with other
    // schemas or prefixes) share one meter, and without these they would overwrite each other.
    const own: Attributes = {
      [`${p}deployment`]: `${this.options.schemaName}.${this.options.tablePrefix}`,
      [`${p}node.id`]: randomUUID().slice(0, 8),
    };
    const withOutcome = Object.fromEntries(Object.entries(OUTCOMES).map(([k, a]) => [k, { ...own, ...a }])) as Record<UpdateOutcome, Attributes>;
    const hits = meter.createObservableCounter(`${p}cache.hits`, { unit: '{hit}', description: 'Session reads served from this node\'s cache.' });
    const misses = meter.createObservableCounter(`${p}cache.misses`, { unit: '{miss}', description: 'Session reads that went to the database.' });
    const size = meter.createObservableUpDownCounter(`${p}cache.size`, { unit: '{session}', description: 'Sessions held in this node\'s cache.' });
    const received = meter.createObservableCounter(`${p}notification.received`, {
      unit: '{notification}',
      description: 'Invalidations received from other nodes.',
    });
    const resyncs = meter.createObservableCounter(`${p}resyncs`, { unit: '{resync}', description: 'Re-checks of the cache after a LISTEN outage.' });
    const listening = meter.createObservableGauge(`${p}listener.up`, {
      unit: '1',
      description: '1 while this node\'s LISTEN connection is listening, 0 while it reconnects.',
    });
    const flushes = meter.createObservableCounter(`${p}last_access.flushes`, {
      unit: '{statement}',
      description: 'Statements that wrote batched last-access times.',
    });
    const flushedRows = meter.createObservableCounter(`${p}last_access.rows`, { unit: '{row}', description: 'Last-access times written.' });
    const cleanups = meter.createObservableCounter(`${p}cleanup.runs`, { unit: '{run}', description: 'Expiry cleanup passes this node ran.' });
    const cleaned = meter.createObservableCounter(`${p}cleanup.deleted`, { unit: '{session}', description: 'Expired sessions deleted by cleanup.' });
    const acquired = meter.createObservableCounter(`${p}lock.acquisitions`, { unit: '{lock}', description: 'Distributed locks acquired on this node.' });
    const held = meter.createObservableUpDownCounter(`${p}lock.active`, { unit: '{lock}', description: 'Distributed locks this node holds now.' });
    const lost = meter.createObservableCounter(`${p}lock.losses`, { unit: '{lock}', description: 'Locks lost before release (lease ran out).' });
    this.collect = (result) => {
      const work = this.sessions.workCounters();
      result.observe(flushes, work.lastAccessFlushes, own);
      result.observe(flushedRows, work.lastAccessRows, own);
      result.observe(cleanups, work.cleanupRuns, own);
      result.observe(cleaned, work.cleanupDeleted, own);
      const lockCounts = this.locks.counters;
      result.observe(acquired, lockCounts.acquired, own);
      result.observe(held, lockCounts.held, own);
      result.observe(lost, lockCounts.lost, own);
      const stats = this.sessions.stats();
      result.observe(hits, stats.cacheHits, own);
      result.observe(misses, stats.cacheMisses, own);
      result.observe(size, stats.cacheSize, own);
      result.observe(received, stats.notificationsReceived, own);
      result.observe(resyncs, stats.resyncs, own);
      result.observe(listening, stats.listening ? 1 : 0, own);
    };
    this.observables = [hits, misses, size, received, resyncs, listening, flushes, flushedRows, cleanups, cleaned, acquired, held, lost];
    meter.addBatchObservableCallback(this.observe, this.observables);
    this.meter = meter;

    const updates: Counter = meter.createCounter(`${p}updates`, {
      unit: '{update}',
      description: 'Batched session updates by outcome (ok, version_conflict, attribute_conflict, not_found, retry, error).',
    });
    const duration: Histogram = meter.createHistogram(`${p}update_batch.duration`, {
      unit: 's',
      description: 'Time to write one batch of session updates (one transaction).',
    });
    const batchSize: Histogram = meter.createHistogram(`${p}update_batch.size`, {
      unit: '{update}',
      description: 'Session updates written together in one batch.',
      advice: { explicitBucketBoundaries: [1, 2, 4, 8, 16, 32, 64, 128, 256] },
    });
    this.store.onUpdateBatch = (n, seconds, outcomes) => {
      duration.record(seconds, own);
      batchSize.record(n, own);
      if (outcomes === null) {
        updates.add(n, withOutcome.error);
        return;
      }
      const counts = new Map<UpdateOutcome, number>();
      for (const o of outcomes as ReadonlyArray<BatchOutcome<UpdateResult>>) {
        // Not applied in its batch and run again on its own: counted once it is known how it
        // ended. That count runs outside the batcher's guard around this observer, so a meter
        // that throws is ignored here too (else an unhandled rejection, fatal by default).
        if (o.ok && o.later) void o.later.then((final) => updates.add(1, withOutcome[outcomeOf(final)])).catch(() => undefined);
        else {
          const k = outcomeOf(o);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
      }
      for (const [k, count] of counts) updates.add(count, withOutcome[k]);
    };
  }
}
