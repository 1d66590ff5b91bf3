import { loadavg } from 'node:os';
import type pg from 'pg';
import { snapshot, WaitSampler, type PostgresCpu, type WaitProfile } from './db-counters.js';
import { joinInvalidations, type InvalidationLatency } from './latency.js';
import { NodeProcess } from './node-process.js';
import type { ClockReply, Mix, NodeCounters, NodeLogs } from './protocol.js';

export interface StepSettings {
  url: string;
  database: string;
  admin: pg.Pool;
  cpu: PostgresCpu | null;
  population: number;
  inFlight: number;
  warmupSec: number;
  measureSec: number;
  progress(line: string): void;
}

export interface NodeResult {
  name: string;
  opsPerSec: number;
  cpuSec: number;
  /** CPU-seconds per second of window: 1 = one core busy. */
  cpuCores: number;
  opsPerCpuSec: number;
  hitRatio: number;
  notificationsPerSec: number;
}

export interface StepResult {
  nodes: number;
  mix: Mix;
  windowSec: number;
  readsPerSec: number;
  writesPerSec: number;
  churnPerSec: number;
  opsPerSec: number;
  invalidation: InvalidationLatency;
  cacheHitRatio: number;
  notificationsPerNodePerSec: number;
  /** Sum over the N nodes of CPU-seconds per second (cores used by app nodes). */
  nodeCpuCores: number;
  /** Aggregate ops per CPU-second of the app nodes. */
  opsPerNodeCpuSec: number;
  perNode: NodeResult[];
  /** The listen-only node (not counted in N): what one notification costs a node that only listens (its idle CPU, measured for 1 s before the load, subtracted). */
  observer: { notificationsPerSec: number; cpuCores: number; idleCores: number; cpuUsPerNotification: number };
  db: {
    /** pg_stat_database xact_commit (every statement outside a transaction counts; flushed lazily by backends). */
    commitsPerSec: number;
    /** Transactions that wrote, per second (transaction id counter, exact). */
    writeXactsPerSec: number;
    /** Updates per writing transaction: how much the node's write batching merged. */
    writesPerWriteXact: number;
    rollbacksPerSec: number;
    walBytesPerSec: number;
    /** WAL bytes between the window's ends per update (creates and deletes, and reads' nothing, included in the WAL). */
    walBytesPerWrite: number;
    walRecordsPerWrite: number;
    walFpiPerSec: number;
    walBuffersFull: number;
    /** WAL fsyncs per second and their mean duration (pg_stat_io, track_wal_io_timing on). */
    walFsyncsPerSec: number;
    walFsyncMeanMs: number;
    cpuCores: number | null;
    cpuSecPer1000Writes: number | null;
    waits: WaitProfile;
  };
  /** Clock check: the largest |offset| between the coordinator's and a node's monotonic clock, bounded by half the round trip. */
  clockOffsetBoundUs: number;
  loadavg: number[];
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** The smallest-round-trip estimate of a node's clock minus the coordinator's, and its bound. */
async function clockOffset(node: NodeProcess): Promise<{ offsetUs: number; boundUs: number }> {
  let best = { offsetUs: 0, boundUs: Infinity };
  for (let k = 0; k < 10; k++) {
    const sent = Number(process.hrtime.bigint());
    const { t } = await node.call<ClockReply>({ op: 'clock' });
    const back = Number(process.hrtime.bigint());
    const half = (back - sent) / 2;
    if (half / 1000 < best.boundUs) best = { offsetUs: (t - (sent + half)) / 1000, boundUs: half / 1000 };
  }
  return best;
}

/**
 * N app node processes plus a listen-only observer on one database, caches warmed. A
 * cluster runs one or more steps ({@link Cluster.measure}) with different mixes.
 */
export class Cluster {
  private constructor(
    private readonly s: StepSettings,
    private readonly procs: NodeProcess[],
    readonly nodes: number,
    private readonly clockBoundUs: number,
  ) {}

  private get app(): NodeProcess[] {
    return this.procs.slice(0, this.nodes);
  }

  private get observer(): NodeProcess {
    return this.procs[this.nodes]!;
  }

  /** Starts the processes, checks their clocks against the coordinator's, and warms every cache. */
  static async start(s: StepSettings, nodes: number, label: string): Promise<Cluster> {
    const names = [...Array.from({ length: nodes }, (_, k) => `node-${k + 1}`), 'observer'];
    const t0 = Date.now();
    s.progress(`${label}: starting ${nodes} node process(es) + a listen-only observer...`);
    const started = await Promise.allSettled(names.map((name, k) => NodeProcess.start({
      name, url: s.url, population: s.population, cacheSize: Math.max(1000, s.population * 2), inFlight: s.inFlight, seed: k + 1,
    })));
    const procs: NodeProcess[] = [];
    for (const r of started) if (r.status === 'fulfilled') procs.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    try {
      if (failed) throw (failed as PromiseRejectedResult).reason;
      let clockBound = 0;
      for (const p of procs) {
        const c = await clockOffset(p);
        // CLOCK_MONOTONIC is one clock per host: an offset beyond the ping's own bound means it is not.
        if (Math.abs(c.offsetUs) > c.boundUs + 50) throw new Error(`${p.name}'s monotonic clock is ${c.offsetUs.toFixed(0)} µs off the coordinator's (±${c.boundUs.toFixed(0)} µs): the latency join needs one clock per host`);
        clockBound = Math.max(clockBound, Math.abs(c.offsetUs) + c.boundUs);
      }
      const t1 = Date.now();
      s.progress(`${label}: ${procs.length} processes up in ${((t1 - t0) / 1000).toFixed(1)} s; warming every cache (${s.population} sessions each)...`);
      const cached = await Promise.all(procs.map((p) => p.call<number>({ op: 'warm' })));
      for (let k = 0; k < procs.length; k++) if (cached[k]! < s.population) throw new Error(`${procs[k]!.name} cached ${cached[k]} of ${s.population} sessions after warming`);
      s.progress(`${label}: caches warm in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
      return new Cluster(s, procs, nodes, clockBound);
    } catch (err) {
      for (const p of procs) p.kill();
      throw err;
    }
  }

  /**
   * One step: the mix for `warmupSec` then `measureSec` measured, a barrier (a marker
   * write every process must hear: NOTIFYs arrive in commit order, so after it every
   * earlier write was delivered), then the join of writes and changes. Throws if a node
   * failed, did nothing, or missed an invalidation.
   */
  async measure(mix: Mix, label: string): Promise<StepResult> {
    const { s, app, observer, nodes, procs } = this;
    s.progress(`${label}: measuring ${s.measureSec} s after ${s.warmupSec} s of load...`);
    // What the observer burns with nothing to hear (timers, GC), subtracted from its figure.
    const idleFrom = await observer.call<number>({ op: 'cpu' });
    const idleStart = process.hrtime.bigint();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const observerIdleCores = (await observer.call<number>({ op: 'cpu' }) - idleFrom) / 1000 / (Number(process.hrtime.bigint() - idleStart) / 1e6);

    await Promise.all(app.map((p) => p.call({ op: 'load', mix })));
    await new Promise((resolve) => setTimeout(resolve, s.warmupSec * 1000));

    const sampler = new WaitSampler(s.admin, s.database);
    const before = await snapshot(s.admin, s.cpu);
    const since = Number(process.hrtime.bigint());
    await Promise.all(procs.map((p) => p.call({ op: 'mark', since })));
    sampler.start();
    await new Promise((resolve) => setTimeout(resolve, s.measureSec * 1000));
    const counters = await Promise.all(procs.map((p) => p.call<NodeCounters>({ op: 'stop' })));
    const after = await snapshot(s.admin, s.cpu);
    const waits = await sampler.stop();

    // Barrier: a process hears every notification in commit order but not its own, so the
    // observer writes the marker and every app node waits for it, then node-1 writes it and
    // the observer waits. After that, each process has heard every write of the window.
    let markerSince = Number(process.hrtime.bigint());
    await observer.call({ op: 'write-marker' });
    await Promise.all(app.map((p) => p.call({ op: 'wait-marker', since: markerSince, timeoutMs: 30_000 })));
    markerSince = Number(process.hrtime.bigint());
    await app[0]!.call({ op: 'write-marker' });
    await observer.call({ op: 'wait-marker', since: markerSince, timeoutMs: 30_000 });
    const logs = await Promise.all(procs.map((p) => p.call<NodeLogs>({ op: 'report' })));

    const appCounters = counters.slice(0, nodes);
    const errors = appCounters.flatMap((c) => Object.entries(c.errors).map(([name, n]) => `${c.name}: ${n} × ${name}`));
    if (errors.length > 0) throw new Error(`operations failed: ${errors.join('; ')}`);
    for (const c of appCounters) if (c.reads + c.writes === 0) throw new Error(`${c.name} reported no operations in the window`);
    const invalidation = joinInvalidations(procs.map((p, k) => ({ name: p.name, logs: logs[k]! })));
    if (invalidation.missing > 0) throw new Error(`${invalidation.missing} invalidation(s) were never applied by some node: ${invalidation.missingExamples.join('; ')}`);
    if (mix.writeShare > 0 && invalidation.writes === 0) throw new Error('no write was joined with its invalidations');
    const windowSec = sum(appCounters.map((c) => c.windowSec)) / nodes;
    const reads = sum(appCounters.map((c) => c.reads));
    const writes = sum(appCounters.map((c) => c.writes));
    const churn = sum(appCounters.map((c) => c.creates + c.deletes));
    const hits = sum(appCounters.map((c) => c.cacheHits));
    const misses = sum(appCounters.map((c) => c.cacheMisses));
    const nodeCpu = sum(appCounters.map((c) => c.cpuSec));
    const obs = counters[nodes]!;
    const dbSec = (after.at - before.at) / 1e9;
    const walBytes = Number(after.walLsn - before.walLsn);
    const dbCpu = after.cpuSec !== null && before.cpuSec !== null ? after.cpuSec - before.cpuSec : null;
    const result: StepResult = {
      nodes,
      mix,
      windowSec,
      readsPerSec: reads / windowSec,
      writesPerSec: writes / windowSec,
      churnPerSec: churn / windowSec,
      opsPerSec: (reads + writes + churn) / windowSec,
      invalidation,
      cacheHitRatio: hits / Math.max(1, hits + misses),
      notificationsPerNodePerSec: sum(appCounters.map((c) => c.notificationsReceived / c.windowSec)) / nodes,
      nodeCpuCores: sum(appCounters.map((c) => c.cpuSec / c.windowSec)),
      opsPerNodeCpuSec: (reads + writes + churn) / nodeCpu,
      perNode: appCounters.map((c) => ({
        name: c.name,
        opsPerSec: (c.reads + c.writes + c.creates + c.deletes) / c.windowSec,
        cpuSec: c.cpuSec,
        cpuCores: c.cpuSec / c.windowSec,
        opsPerCpuSec: (c.reads + c.writes + c.creates + c.deletes) / c.cpuSec,
        hitRatio: c.cacheHits / Math.max(1, c.cacheHits + c.cacheMisses),
        notificationsPerSec: c.notificationsReceived / c.windowSec,
      })),
      observer: {
        notificationsPerSec: obs.notificationsReceived / obs.windowSec,
        cpuCores: obs.cpuSec / obs.windowSec,
        idleCores: observerIdleCores,
        cpuUsPerNotification: obs.notificationsReceived > 0 ? (Math.max(0, obs.cpuSec - observerIdleCores * obs.windowSec) * 1e6) / obs.notificationsReceived : NaN,
      },
      db: {
        commitsPerSec: (after.xactCommit - before.xactCommit) / dbSec,
        rollbacksPerSec: (after.xactRollback - before.xactRollback) / dbSec,
        writeXactsPerSec: (after.nextXid - before.nextXid) / dbSec,
        writesPerWriteXact: writes / windowSec / Math.max(1e-9, (after.nextXid - before.nextXid) / dbSec),
        walBytesPerSec: walBytes / dbSec,
        walBytesPerWrite: writes > 0 ? walBytes / ((writes / windowSec) * dbSec) : NaN,
        walRecordsPerWrite: writes > 0 ? (after.walRecords - before.walRecords) / ((writes / windowSec) * dbSec) : NaN,
        walFpiPerSec: (after.walFpi - before.walFpi) / dbSec,
        walBuffersFull: after.walBuffersFull - before.walBuffersFull,
        walFsyncsPerSec: (after.walFsyncs - before.walFsyncs) / dbSec,
        walFsyncMeanMs: after.walFsyncs > before.walFsyncs ? (after.walFsyncMs - before.walFsyncMs) / (after.walFsyncs - before.walFsyncs) : NaN,
        cpuCores: dbCpu === null ? null : dbCpu / dbSec,
        cpuSecPer1000Writes: dbCpu === null || writes === 0 ? null : (dbCpu / ((writes / windowSec) * dbSec)) * 1000,
        waits,
      },
      clockOffsetBoundUs: this.clockBoundUs,
      loadavg: loadavg(),
    };
    s.progress(`${label}: ${describe(result)}`);
    return result;
  }

  /** Closes every node's application context; each process must then exit with code 0. */
  async close(): Promise<void> {
    try {
      await Promise.all(this.procs.map((p) => p.close()));
    } finally {
      this.kill();
    }
  }

  /** Ends the processes still running (after a failure). */
  kill(): void {
    for (const p of this.procs) p.kill();
  }
}

function describe(r: StepResult): string {
  const ms = (us: number): string => (Number.isFinite(us) ? `${(us / 1000).toFixed(1)} ms` : '—');
  return `${r.readsPerSec.toFixed(0)} reads/s, ${r.writesPerSec.toFixed(0)} writes/s, hit ${(r.cacheHitRatio * 100).toFixed(1)}%, ` +
    `invalidation p50 ${ms(r.invalidation.p50Us)} p99 ${ms(r.invalidation.p99Us)} max ${ms(r.invalidation.maxUs)}, ` +
    `${r.notificationsPerNodePerSec.toFixed(0)} notifications/s per node, nodes ${r.nodeCpuCores.toFixed(2)} cores, ` +
    `db ${r.db.cpuCores === null ? '?' : r.db.cpuCores.toFixed(2)} cores, ${r.db.commitsPerSec.toFixed(0)} commits/s, ${r.db.writeXactsPerSec.toFixed(0)} write xacts/s, WAL fsync ${r.db.walFsyncMeanMs.toFixed(2)} ms × ${r.db.walFsyncsPerSec.toFixed(0)}/s, load ${r.loadavg[0]!.toFixed(2)}`;
}
