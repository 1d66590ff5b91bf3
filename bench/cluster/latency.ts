import { nearestRank } from '../harness.js';
import type { NodeLogs } from './protocol.js';

/** Cross-node invalidation latency of one step, µs (see {@link joinInvalidations}). */
export interface InvalidationLatency {
  /** Writes joined (each against every other node and the observer). */
  writes: number;
  /** (write, other node) pairs never heard: the node never emitted the id after the write began. */
  missing: number;
  /** The first few of those, for the error message. */
  missingExamples: string[];
  /** From the writer's commit acknowledgement to the last other node applying it. */
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** The same from the start of the updateSession call (includes the write itself). */
  fromCallP50Us: number;
  fromCallP99Us: number;
  /** Share of writes that every other node had applied before the writer saw its acknowledgement. */
  beforeAckShare: number;
}

interface ProcessLog {
  name: string;
  logs: NodeLogs;
}

/** Sorted times per population index, from a changes log. */
function changeTimes(logs: NodeLogs): Map<number, number[]> {
  const byIndex = new Map<number, number[]>();
  for (let k = 0; k < logs.changes.length; k += 2) {
    const i = logs.changes[k]!;
    let times = byIndex.get(i);
    if (!times) byIndex.set(i, (times = []));
    times.push(logs.changes[k + 1]!);
  }
  for (const times of byIndex.values()) times.sort((a, b) => a - b);
  return byIndex;
}

/** First element >= t, or undefined. */
function firstAtOrAfter(sorted: number[], t: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

/**
 * Joins each node's writes with every other process's changes$ log: a write of session i
 * that started at t0 is applied on node j at the first change naming i that j emitted at
 * or after t0. A change carries session ids, not the write that caused it (and a node
 * coalesces several writes into one NOTIFY), so a later change of i is this write's or a
 * later one's: two writes of one session within one latency can pair the earlier write
 * with the later change, and a lost invalidation of i is not seen as missing when i is
 * written again before the window ends (the per-step barrier, a marker every node must
 * hear, is what proves delivery did not stop).
 * The times come from each process's CLOCK_MONOTONIC (process.hrtime), which every
 * process of a host shares.
 */
export function joinInvalidations(processes: ProcessLog[]): InvalidationLatency {
  const times = processes.map((p) => changeTimes(p.logs));
  const fromAck: number[] = [];
  const fromCall: number[] = [];
  let missing = 0;
  const examples: string[] = [];
  let beforeAck = 0;
  for (let w = 0; w < processes.length; w++) {
    const writes = processes[w]!.logs.writes;
    for (let k = 0; k < writes.length; k += 3) {
      const i = writes[k]!;
      const t0 = writes[k + 1]!;
      const ack = writes[k + 2]!;
      let last = -Infinity;
      let heardByAll = true;
      for (let j = 0; j < processes.length; j++) {
        if (j === w) continue;
        const t = firstAtOrAfter(times[j]!.get(i) ?? [], t0);
        if (t === undefined) {
          missing++;
          if (examples.length < 3) {
            const heard = times[j]!.get(i) ?? [];
            examples.push(`${processes[j]!.name} never heard ${processes[w]!.name}'s write of session #${i} (call at ${t0}, ack at ${ack}; it heard that session ${heard.length} time(s)${heard.length ? `, last at ${heard[heard.length - 1]}` : ''})`);
          }
          heardByAll = false;
        } else if (t > last) {
          last = t;
        }
      }
      if (!heardByAll || last === -Infinity) continue;
      fromAck.push((last - ack) / 1000);
      fromCall.push((last - t0) / 1000);
      if (last < ack) beforeAck++;
    }
  }
  const a = Float64Array.from(fromAck).sort();
  const c = Float64Array.from(fromCall).sort();
  return {
    writes: a.length,
    missing,
    missingExamples: examples,
    p50Us: nearestRank(a, 0.5),
    p99Us: nearestRank(a, 0.99),
    maxUs: a.length > 0 ? a[a.length - 1]! : NaN,
    fromCallP50Us: nearestRank(c, 0.5),
    fromCallP99Us: nearestRank(c, 0.99),
    beforeAckShare: a.length > 0 ? beforeAck / a.length : NaN,
  };
}
