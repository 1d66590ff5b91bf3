/**
 * Timing: sequential and N-in-flight loops, per-operation latency with
 * process.hrtime.bigint, warm-up, repeated runs, percentiles.
 *
 * Every implementation of a row goes through the same loop: an operation is a
 * function of its op number that returns a value or a promise (a synchronous
 * result is not awaited, so the in-process floor pays no artificial microtask).
 */

/** One operation: given the op number, does one unit of work. */
export type Op = (n: number) => unknown;

/** Summary of one timed run. */
export interface Sample {
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** Median per-operation latency, µs. */
  medianUs: number;
  /** 99th percentile per-operation latency, µs. */
  p99Us: number;
}

export interface RunOptions {
  ops: number;
  /** 1 = sequential; otherwise this many operations are kept in flight. */
  inFlight: number;
  /** Op numbers start here (so successive runs move on to other keys). */
  start?: number;
  /**
   * For sub-microsecond in-process operations: measure throughput in a separate pass
   * without per-op timers (whose own cost, ~50-100 ns, would otherwise dominate),
   * then latency in a second, timed pass.
   */
  untimedThroughput?: boolean;
}

const now = process.hrtime.bigint;

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/** Nearest-rank percentile of sorted values (NaN when there are none). */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Nearest-rank percentile of sorted nanosecond latencies, in µs. */
export function percentileUs(sorted: Float64Array, p: number): number {
  return nearestRank(sorted, p) / 1000;
}

export function summarize(latenciesNs: Float64Array, seconds: number): Sample {
  const sorted = Float64Array.from(latenciesNs).sort();
  return {
    ops: latenciesNs.length,
    seconds,
    opsPerSec: latenciesNs.length / seconds,
    medianUs: percentileUs(sorted, 0.5),
    p99Us: percentileUs(sorted, 0.99),
  };
}

async function timedPass(op: Op, ops: number, inFlight: number, start: number): Promise<{ lat: Float64Array; seconds: number }> {
  const lat = new Float64Array(ops);
  const t0 = now();
  if (inFlight <= 1) {
    for (let i = 0; i < ops; i++) {
      const s = now();
      const r = op(start + i);
      if (isThenable(r)) await r;
      lat[i] = Number(now() - s);
    }
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= ops) return;
        const s = now();
        const r = op(start + i);
        if (isThenable(r)) await r;
        lat[i] = Number(now() - s);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, ops) }, worker));
  }
  return { lat, seconds: Number(now() - t0) / 1e9 };
}

async function untimedPass(op: Op, ops: number, inFlight: number, start: number): Promise<number> {
  const t0 = now();
  if (inFlight <= 1) {
    for (let i = 0; i < ops; i++) {
      const r = op(start + i);
      if (isThenable(r)) await r;
    }
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= ops) return;
        const r = op(start + i);
        if (isThenable(r)) await r;
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, ops) }, worker));
  }
  return Number(now() - t0) / 1e9;
}

/** One run: `ops` operations, sequential or `inFlight` at a time. Any failing op fails the run. */
export async function run(op: Op, options: RunOptions): Promise<Sample> {
  const start = options.start ?? 0;
  if (options.untimedThroughput) {
    const seconds = await untimedPass(op, options.ops, options.inFlight, start);
    const { lat } = await timedPass(op, options.ops, options.inFlight, start + options.ops);
    const sample = summarize(lat, seconds);
    return { ...sample, seconds, opsPerSec: options.ops / seconds };
  }
  const { lat, seconds } = await timedPass(op, options.ops, options.inFlight, start);
  return summarize(lat, seconds);
}

/** Runs `op` untimed, to warm JIT, connections, prepared statements and buffers. */
export async function warmUp(op: Op, ops: number, inFlight: number, start = 0): Promise<void> {
  await untimedPass(op, ops, inFlight, start);
}

/** Median of numbers (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Wraps a Node-style callback API call in a promise. */
export function fromCallback<T>(call: (cb: (err: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => call((err, value) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(value))));
}
