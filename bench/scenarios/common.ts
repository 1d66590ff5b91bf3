import type { DataSet } from '../data.js';
import type { BenchDatabase } from '../db.js';
import { run, warmUp, type Op, type Sample } from '../harness.js';
import type { PgSimplePeer } from '../peers/connect-pg-simple.js';
import type { RedisPeer } from '../peers/connect-redis.js';
import type { BenchNode } from '../peers/ours.js';
import type { HandBatchedUpdate } from '../peers/hand-batched-update.js';
import type { SqlFloor } from '../peers/sql-floor.js';

/** Sizes of one bench run (full or smoke). */
export interface BenchConfig {
  sessions: number;
  runs: number;
  inFlight: number;
  /** Ops per run for in-process rows (cache hits). */
  fastOps: number;
  /** Ops per run for rows that go to a server, sequential / in flight. */
  serverOpsSeq: number;
  serverOpsConcurrent: number;
  createOps: number;
  invalidationOps: number;
  warmupFast: number;
  warmupServer: number;
  memorySessions: number;
  lastAccessReads: number;
  lastAccessBatchSize: number;
}

/** `reference`: an extra yardstick that is neither the floor nor a peer (e.g. the floor behind an async API). */
export type Role = 'ours' | 'floor' | 'peer' | 'reference';
export type Mode = 'seq' | 'in-flight' | 'alternating';

export interface TimingRow {
  scenario: string;
  impl: string;
  role: Role;
  mode: Mode;
  inFlight: number;
  runs: Sample[];
  skipped?: string;
  note?: string;
}

export interface MemoryResult {
  sessions: number;
  avgJsonBytes: number;
  /** Heap per cached session once the pending last-access writes were flushed. */
  bytesPerSession: number;
  /** Extra heap per session held by pending (unflushed) last-access times. */
  pendingAccessBytesPerSession: number;
  /** Floor: lru-cache holding each session's JSON string. */
  floorBytesPerEntry: number;
  targetBytes: number;
  skipped?: string;
}

export interface LastAccessResult {
  reads: number;
  distinctSessions: number;
  batchSize: number;
  cacheHits: number;
  statementsDuringReads: number;
  statementsAtFlush: number;
  writerStatementsAtFlush: number;
  expectedAtFlush: number;
}

export interface BenchContext {
  readonly smoke: boolean;
  readonly config: BenchConfig;
  readonly data: DataSet;
  readonly db: BenchDatabase;
  readonly node: BenchNode;
  /**
   * With `--prepared-statements=both`: a second library node with `preparedStatements: false`,
   * on its own copy of the data (table prefix `unnamed_`, so the two nodes never invalidate
   * each other's cache), timed in the same runs as `node`.
   */
  readonly unnamedNode?: BenchNode;
  readonly floor: SqlFloor;
  /** The batching design's limit for updates, hand-written (on the floor tables). */
  readonly handBatched: HandBatchedUpdate;
  readonly pgSimple: PgSimplePeer;
  readonly redis: RedisPeer | null;
  /** Why the Redis rows are skipped, or null. */
  readonly redisSkipped: string | null;
  readonly rows: TimingRow[];
  progress(line: string): void;
}

/** The data set index of op number `n` (random order, the same for every implementation). */
export function keyIndex(data: DataSet, n: number): number {
  return data.order[n % data.size]!;
}

export interface ImplSpec {
  impl: string;
  role: Role;
  op?: Op;
  skipped?: string;
  /** In-process operation: throughput measured without per-op timers (see harness). */
  fast?: boolean;
  /** Called before each run; the returned function is called after it and throws if the run did not do what it claims. */
  check?: () => (ops: number) => void;
  note?: string;
  /** The modes this row runs in, when not all of the scenario's (a row meaningful only in some). */
  modes?: Mode[];
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k/s` : `${x.toFixed(0)}/s`;
}

/**
 * Measures every implementation of one scenario in the given modes: warm-up first,
 * then `runs` runs, the implementations interleaved run by run (so drift of the
 * machine hits all of them alike).
 */
export async function compare(
  ctx: BenchContext,
  scenario: string,
  impls: ImplSpec[],
  modes: Mode[],
  ops: { seq: number; inFlight: number; fast?: number },
  /** Called before each mode's rows start (e.g. to set up a row that runs only in that mode). */
  beforeMode?: (mode: Mode) => Promise<void>,
): Promise<TimingRow[]> {
  const { config } = ctx;
  const rows: TimingRow[] = [];
  const cursors = new Map<string, number>();
  for (const mode of modes) {
    const inFlight = mode === 'in-flight' ? config.inFlight : 1;
    await beforeMode?.(mode);
    const byImpl = new Map<string, TimingRow>();
    const inMode = impls.filter((s) => s.modes === undefined || s.modes.includes(mode));
    for (const spec of inMode) {
      const row: TimingRow = { scenario, impl: spec.impl, role: spec.role, mode, inFlight, runs: [], skipped: spec.skipped, note: spec.note };
      byImpl.set(spec.impl, row);
      rows.push(row);
      ctx.rows.push(row);
    }
    const live = inMode.filter((s) => s.op && !s.skipped);
    for (const spec of live) {
      const count = spec.fast ? config.warmupFast : config.warmupServer;
      const start = cursors.get(spec.impl) ?? 0;
      await warmUp(spec.op!, count, inFlight, start);
      cursors.set(spec.impl, start + count);
    }
    for (let r = 0; r < config.runs; r++) {
      for (const spec of live) {
        const n = spec.fast ? (ops.fast ?? config.fastOps) : mode === 'in-flight' ? ops.inFlight : ops.seq;
        const start = cursors.get(spec.impl) ?? 0;
        const done = spec.check?.();
        const sample = await run(spec.op!, { ops: n, inFlight, start, untimedThroughput: spec.fast });
        done?.(spec.fast ? 2 * n : n);
        cursors.set(spec.impl, start + (spec.fast ? 2 * n : n));
        byImpl.get(spec.impl)!.runs.push(sample);
        ctx.progress(
          `${scenario} | ${spec.impl} | ${mode === 'in-flight' ? `${inFlight} in flight` : mode} | run ${r + 1}/${config.runs}: ` +
            `${fmtRate(sample.opsPerSec)}, median ${sample.medianUs.toFixed(2)} µs, p99 ${sample.p99Us.toFixed(2)} µs`,
        );
      }
    }
    for (const spec of inMode.filter((s) => s.skipped)) ctx.progress(`${scenario} | ${spec.impl}: skipped: ${spec.skipped}`);
  }
  return rows;
}
