import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { navValue, UPDATED_KEY } from '../data.js';
import { summarize } from '../harness.js';
import { ListenFloor } from '../peers/listen-floor.js';
import { startBenchNode } from '../peers/ours.js';
import { keyIndex, type BenchContext, type TimingRow } from './common.js';

const TIMEOUT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms: ${what}`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Cross-node invalidation latency: node A's updateSession call until node B's
 * changes$ emits the id; floor: the same write as one statement with pg_notify,
 * call until a raw LISTEN client hears it. The two are measured alternately, op by
 * op, sequentially (one change in flight), on random sessions.
 */
export async function invalidation(ctx: BenchContext): Promise<void> {
  const { data, node, config } = ctx;
  const nodeB = await startBenchNode('node-B', { connectionString: ctx.db.url, cacheSize: data.size * 2 });
  const floor = await ListenFloor.start(ctx.db.url);
  const waiting = new Map<string, () => void>();
  const sub: Subscription = nodeB.notifications.changes$.subscribe((change) => {
    if (change.type !== 'sessions') return;
    for (const id of change.ids) {
      const done = waiting.get(id);
      if (done) {
        waiting.delete(id);
        done();
      }
    }
  });
  const heardByB = (id: string) => new Promise<void>((resolve) => waiting.set(id, resolve));
  const floorNodeId = randomUUID();
  const now = process.hrtime.bigint;

  const oursOnce = async (n: number): Promise<number> => {
    const id = data.ids[keyIndex(data, n)]!;
    const s = await node.sessions.getSession(id);
    s.setAttribute(UPDATED_KEY, navValue(n));
    const heard = heardByB(id);
    const t0 = now();
    const written = node.sessions.updateSession(s);
    await withTimeout(heard, `node B hearing ${id}`);
    const t = Number(now() - t0);
    await written;
    return t;
  };
  const floorOnce = async (n: number): Promise<number> => {
    const id = data.ids[keyIndex(data, n)]!;
    const json = JSON.stringify(navValue(n));
    const payload = JSON.stringify({ n: floorNodeId, t: 's', i: [id] });
    const heard = floor.heard(id);
    const t0 = now();
    const written = floor.write(id, json, payload);
    await withTimeout(heard, `raw listener hearing ${id}`);
    const t = Number(now() - t0);
    await written;
    return t;
  };

  const scenario = 'cross-node invalidation';
  const ours: TimingRow = { scenario, impl: "this library: A's updateSession → B's changes$", role: 'ours', mode: 'alternating', inFlight: 1, runs: [] };
  const base: TimingRow = { scenario, impl: 'floor: UPDATE + pg_notify statement → raw LISTEN', role: 'floor', mode: 'alternating', inFlight: 1, runs: [] };
  ctx.rows.push(ours, base);
  try {
    let cursor = 0;
    for (let i = 0; i < config.warmupServer; i++, cursor++) {
      await oursOnce(cursor);
      await floorOnce(cursor);
    }
    for (let r = 0; r < config.runs; r++) {
      const a = new Float64Array(config.invalidationOps);
      const b = new Float64Array(config.invalidationOps);
      for (let i = 0; i < config.invalidationOps; i++, cursor++) {
        // Alternate which goes first, so neither always follows the other.
        if (i % 2 === 0) {
          a[i] = await oursOnce(cursor);
          b[i] = await floorOnce(cursor);
        } else {
          b[i] = await floorOnce(cursor);
          a[i] = await oursOnce(cursor);
        }
      }
      const sa = summarize(a, a.reduce((x, y) => x + y, 0) / 1e9);
      const sb = summarize(b, b.reduce((x, y) => x + y, 0) / 1e9);
      ours.runs.push(sa);
      base.runs.push(sb);
      ctx.progress(`${scenario} | run ${r + 1}/${config.runs}: ours median ${sa.medianUs.toFixed(0)} µs p99 ${sa.p99Us.toFixed(0)} µs; floor median ${sb.medianUs.toFixed(0)} µs p99 ${sb.p99Us.toFixed(0)} µs`);
    }
  } finally {
    sub.unsubscribe();
    await floor.close();
    await nodeB.close();
  }
}
