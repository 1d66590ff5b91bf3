// How much of the gap between the library's 32-in-flight updates and the hand-batched
// reference is the statement, and how much the library's own work per update on the
// node (issue 13's diagnostic):
//   npm run bench:update-parts [-- --ops=4000 --rounds=12]
// Four rows side by side in one process, each round in a rotated order: the reference;
// the library's batch statement with its real parameters, driven by the reference's
// minimal batcher (no cache, no views, no commands: LibraryStatementByHand); the same
// plus a bounded cache of the sessions' new states, read and written by hand (the
// hand-written best case of the library's work: LibraryStatementByHand with
// cacheStates); and updateSession itself. Each row's ratio is to the reference in the
// same round (median over rounds), with the CPU each used per update: PostgreSQL's (the
// server's processes, from /proc/<pid>/schedstat: Linux only) and this process's.
import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { TableNames } from '../../lib/store/table-names.js';
import { navValue, UPDATED_KEY } from '../data.js';
import { median, run, type Op } from '../harness.js';
import { LibraryStatementByHand } from '../peers/library-statement-by-hand.js';
import { positiveIntegerArg, startUpdateLoop } from './update-loop.js';

const OPS = positiveIntegerArg('ops', 4000);
// A multiple of the four rows, so that each row runs in each position of the rotation alike.
const ROUNDS = positiveIntegerArg('rounds', 12);
const SESSIONS = 10_000;
/** The row of the hand-written best case of the library's work (its statement and a cache, by hand). */
const BEST_CASE = 2;

/**
 * CPU ns used so far by each process of the server this diagnostic runs on (its
 * postmaster, named in postmaster.pid of its data directory, and the postmaster's
 * children), by pid; null where that cannot be read (a remote server, no schedstat).
 * Only this server's: other servers on the machine (other test suites) start and end
 * processes meanwhile, which made the sum of every `postgres` process swing, even
 * below zero.
 */
function postgresCpuByPid(postmaster: number | null): Map<number, number> | null {
  if (postmaster === null) return null;
  const cpu = new Map<number, number>();
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)) {
      try {
        // The parent pid is the 2nd field after the command, which is in parentheses.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (pid === postmaster || ppid === postmaster) cpu.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return null;
  }
  return cpu;
}

/** CPU µs the server's processes used between two readings (a process that ended meanwhile is not counted). */
function cpuUsBetween(before: Map<number, number> | null, after: Map<number, number> | null): number {
  if (!before || !after) return NaN;
  let ns = 0;
  for (const [pid, used] of after) ns += used - (before.get(pid) ?? 0);
  return ns / 1000;
}

/** The server's postmaster pid, when its data directory is on this machine. */
async function postmasterPid(query: (text: string) => Promise<{ rows: Array<{ dir: string }> }>): Promise<number | null> {
  try {
    const { rows } = await query(`SELECT current_setting('data_directory') AS dir`);
    const pid = Number(readFileSync(`${rows[0]!.dir}/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

const loop = await startUpdateLoop(SESSIONS);
const { node, hand, key } = loop;
const drivers: LibraryStatementByHand[] = [];
try {
  const from = { sessions: 'sessions', attributes: 'session_attributes' };
  const driver = await LibraryStatementByHand.copyAndStart(loop.floor.pool, loop.db.url, from, new TableNames('public', 'byhand_'));
  drivers.push(driver);
  const cachingDriver = await LibraryStatementByHand.copyAndStart(loop.floor.pool, loop.db.url, from, new TableNames('public', 'bycache_'), true);
  drivers.push(cachingDriver);
  const postmaster = await postmasterPid((text) => loop.db.admin.query<{ dir: string }>(text));
  const impls: Array<{ name: string; op: Op }> = [
    { name: 'reference: hand-batched', op: (n) => hand.update(key(n), navValue(n)) },
    { name: "the library's statement, driven by hand", op: (n) => driver.update(key(n), navValue(n)) },
    // BEST_CASE: the hand-written best case of the library's work.
    { name: 'the same, and a cache of the new states by hand', op: (n) => cachingDriver.update(key(n), navValue(n)) },
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
  const toBestCase = impls.map((): number[] => []);
  const postgres = impls.map((): number[] => []);
  const nodeCpu = impls.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    const opsPerSec: number[] = [];
    for (let k = 0; k < impls.length; k++) {
      const i = (k + round) % impls.length;
      const pg0 = postgresCpuByPid(postmaster);
      const cpu = process.cpuUsage();
      opsPerSec[i] = (await run(impls[i]!.op, { ops: OPS, inFlight: 32, start: (cursor += OPS) })).opsPerSec;
      const used = process.cpuUsage(cpu);
      postgres[i]!.push(cpuUsBetween(pg0, postgresCpuByPid(postmaster)) / OPS);
      nodeCpu[i]!.push((used.user + used.system) / OPS);
    }
    impls.forEach((_, i) => {
      ratios[i]!.push(opsPerSec[i]! / opsPerSec[0]!);
      toBestCase[i]!.push(opsPerSec[i]! / opsPerSec[BEST_CASE]!);
    });
  }
  console.table(
    impls.map((impl, i) => ({
      implementation: impl.name,
      'ratio to the reference (median)': median(ratios[i]!).toFixed(2),
      'per round': ratios[i]!.map((r) => r.toFixed(2)).join(' '),
      'ratio to the best case of the same work (median)': median(toBestCase[i]!).toFixed(2),
      'PostgreSQL CPU µs/update': median(postgres[i]!).toFixed(1),
      'node CPU µs/update': median(nodeCpu[i]!).toFixed(1),
    })),
  );
} finally {
  try {
    for (const d of drivers) await d.close();
  } finally {
    await loop.close();
  }
}
