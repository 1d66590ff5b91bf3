// How much of the gap between the library's 32-in-flight updates and the hand-batched
// reference is the statement, and how much the library's own work per update on the
// node (issue 13's diagnostic):
//   npm run bench:update-parts [-- --ops=4000 --rounds=10]
// Three rows side by side in one process, each round in a rotated order: the reference;
// the library's batch statement with its real parameters, driven by the reference's
// minimal batcher (no cache, no views, no commands: LibraryStatementByHand); and
// updateSession itself. Each row's ratio is to the reference in the same round (median
// over rounds), with the CPU each used per update: PostgreSQL's (all its processes,
// from /proc/<pid>/schedstat: Linux only) and this process's.
import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { TableNames } from '../../lib/store/table-names.js';
import { makeDataSet, navValue, UPDATED_KEY } from '../data.js';
import { bulkInsertSessions, createBenchDatabase } from '../db.js';
import { median, run, type Op } from '../harness.js';
import { HandBatchedUpdate } from '../peers/hand-batched-update.js';
import { LibraryStatementByHand } from '../peers/library-statement-by-hand.js';
import { startBenchNode } from '../peers/ours.js';
import { SqlFloor } from '../peers/sql-floor.js';

const arg = (name: string, fallback: number): number => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return value;
};
const OPS = arg('ops', 4000);
const ROUNDS = arg('rounds', 10);
const SESSIONS = 10_000;

/** CPU µs used so far by every PostgreSQL process, or NaN where /proc has no schedstat. */
function postgresCpuUs(): number {
  let ns = 0;
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ns += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return NaN;
  }
  return ns / 1000;
}

const data = makeDataSet(SESSIONS);
const db = await createBenchDatabase();
const node = await startBenchNode('node-A', { connectionString: db.url, createSchemaIfMissing: true, cacheSize: 4 * SESSIONS });
await bulkInsertSessions(db.admin, { sessions: 'sessions', attributes: 'session_attributes' }, data.size, (i) => data.ids[i]!);
await SqlFloor.createTables(db.admin);
const floor = new SqlFloor(db.url);
const hand = await HandBatchedUpdate.start(floor.pool, db.url);
const byHand = await LibraryStatementByHand.copyAndStart(floor.pool, db.url, { sessions: 'sessions', attributes: 'session_attributes' }, new TableNames('public', 'byhand_'));
try {
  for (let i = 0; i < SESSIONS; i += 32) await Promise.all(data.ids.slice(i, i + 32).map((id) => node.sessions.getSession(id)));
  const key = (n: number) => data.ids[data.order[n % data.size]!]!;
  const impls: Array<{ name: string; op: Op }> = [
    { name: 'reference: hand-batched', op: (n) => hand.update(key(n), navValue(n)) },
    { name: "the library's statement, driven by hand", op: (n) => byHand.update(key(n), navValue(n)) },
    {
      name: 'this library: updateSession',
      op: async (n) => {
        const s = await node.sessions.getSession(key(n));
        s.setAttribute(UPDATED_KEY, navValue(n));
        await node.sessions.updateSession(s);
      },
    },
  ];
  let cursor = 0;
  for (const impl of impls) await run(impl.op, { ops: 1000, inFlight: 32, start: (cursor += 1000) });
  const ratios = impls.map((): number[] => []);
  const postgres = impls.map((): number[] => []);
  const nodeCpu = impls.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    const opsPerSec: number[] = [];
    for (let k = 0; k < impls.length; k++) {
      const i = (k + round) % impls.length;
      const pg0 = postgresCpuUs();
      const cpu = process.cpuUsage();
      opsPerSec[i] = (await run(impls[i]!.op, { ops: OPS, inFlight: 32, start: (cursor += OPS) })).opsPerSec;
      const used = process.cpuUsage(cpu);
      postgres[i]!.push((postgresCpuUs() - pg0) / OPS);
      nodeCpu[i]!.push((used.user + used.system) / OPS);
    }
    impls.forEach((_, i) => ratios[i]!.push(opsPerSec[i]! / opsPerSec[0]!));
  }
  console.table(
    impls.map((impl, i) => ({
      implementation: impl.name,
      'ratio to the reference (median)': median(ratios[i]!).toFixed(2),
      'per round': ratios[i]!.map((r) => r.toFixed(2)).join(' '),
      'PostgreSQL CPU µs/update': median(postgres[i]!).toFixed(1),
      'node CPU µs/update': median(nodeCpu[i]!).toFixed(1),
    })),
  );
} finally {
  await byHand.close();
  await hand.close();
  await floor.close();
  await node.close();
  await db.drop();
}
