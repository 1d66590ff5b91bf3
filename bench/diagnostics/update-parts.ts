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
import { navValue, UPDATED_KEY } from '../data.js';
import { median, run, type Op } from '../harness.js';
import { LibraryStatementByHand } from '../peers/library-statement-by-hand.js';
import { positiveIntegerArg, startUpdateLoop } from './update-loop.js';

const OPS = positiveIntegerArg('ops', 4000);
const ROUNDS = positiveIntegerArg('rounds', 10);
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

const loop = await startUpdateLoop(SESSIONS);
const { node, hand, key } = loop;
const byHand = await LibraryStatementByHand.copyAndStart(loop.floor.pool, loop.db.url, { sessions: 'sessions', attributes: 'session_attributes' }, new TableNames('public', 'byhand_'));
try {
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
  await loop.close();
}
