// One app node of the cluster bench, in a process of its own: a Nest application context
// with SessionModule (bench/peers/ours.ts), driven by the coordinator over IPC
// (bench/cluster/protocol.ts). It runs closed request loops over the shared population,
// and logs, with the host's monotonic clock, each write it commits and each change it hears.
import 'reflect-metadata';
import { navValue, prng, uuidFor, UPDATED_KEY } from '../data.js';
import { startBenchNode } from '../peers/ours.js';
import { POPULATION_SALT, type Command, type Mix, type NodeConfig, type NodeCounters, type NodeLogs } from './protocol.js';

const config = JSON.parse(process.argv[2]!) as NodeConfig;

// The IPC channel closes before `close` only when the coordinator is gone (killed by a CI
// timeout's SIGTERM, or crashed): its finally never runs, so nobody will stop this process,
// and its request loops would keep loading the database, or spin on errors once the server
// is stopped, forever. End with it.
let closing = false;
process.on('disconnect', () => {
  if (!closing) process.exit(1);
});
const now = (): number => Number(process.hrtime.bigint());
const send = (message: unknown): Promise<void> =>
  new Promise((resolve, reject) => process.send!(message, (err: Error | null) => (err ? reject(err) : resolve())));

// Ids 0..population-1 are the shared population; index `population` is the barrier's marker.
const ids: string[] = [];
const indexOf = new Map<string, number>();
for (let i = 0; i <= config.population; i++) {
  const id = uuidFor(POPULATION_SALT, i);
  ids.push(id);
  indexOf.set(id, i);
}
const markerIndex = config.population;

let node: Awaited<ReturnType<typeof startBenchNode>>;
try {
  node = await startBenchNode(config.name, { connectionString: config.url, cacheSize: config.cacheSize });
} catch (err) {
  await send({ event: 'failed', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exit(1);
}
const { sessions } = node;

// Counters and the writes log cover the measurement window (from `mark`). Changes are logged
// all along and cut at the window's start only at `mark`: a write that started at the window's
// start may be heard by another node before that node processed its own `mark`.
let recording = false;
let windowStart = Infinity;
let writesLog: number[] = [];
let changesLog: number[] = [];
let otherChanges = 0;
const counters = { reads: 0, writes: 0, creates: 0, deletes: 0 };
const errors: Record<string, number> = {};
let markerWaiter: { since: number; resolve: () => void } | null = null;

const subscription = node.notifications.changes$.subscribe((change) => {
  const t = now();
  if (change.type !== 'sessions') return;
  for (const id of change.ids) {
    const i = indexOf.get(id);
    if (i === undefined) {
      if (recording) otherChanges++;
      continue;
    }
    changesLog.push(i, t);
    if (i === markerIndex && markerWaiter && t >= markerWaiter.since) {
      markerWaiter.resolve();
      markerWaiter = null;
    }
  }
});

// ---- load ----
let running = false;
let loops: Promise<void>[] = [];
let writeNumber = config.seed * 1_000_000_000;
const created: string[] = [];
let churnTurn = 0;

async function update(i: number): Promise<void> {
  const s = await sessions.getSession(ids[i]!);
  s.setAttribute(UPDATED_KEY, navValue(writeNumber++));
  const t0 = now();
  await sessions.updateSession(s);
  const t1 = now();
  if (recording) counters.writes++;
  if (t0 >= windowStart) writesLog.push(i, t0, t1);
}

async function churn(): Promise<void> {
  // Alternately creates a session of a user of its own and deletes this node's oldest one,
  // so the population the others read stays the same size.
  if (churnTurn++ % 2 === 1 && created.length > 0) {
    await sessions.deleteSession(created.shift()!);
    if (recording) counters.deletes++;
  } else {
    const s = await sessions.createSession(`churn-${config.name}-${churnTurn}`, { [UPDATED_KEY]: { value: navValue(churnTurn) } });
    created.push(s.id);
    if (recording) counters.creates++;
  }
}

async function loop(mix: Mix, random: () => number): Promise<void> {
  while (running) {
    const r = random();
    const i = Math.floor(random() * config.population);
    try {
      if (r < mix.churnShare) await churn();
      else if (r < mix.churnShare + mix.writeShare) await update(i);
      else {
        await sessions.getSession(ids[i]!);
        if (recording) counters.reads++;
      }
    } catch (err) {
      const name = err instanceof Error ? err.name : 'non-Error';
      errors[name] = (errors[name] ?? 0) + 1;
      if (errors[name] === 1) process.stderr.write(`[${config.name}] ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

// ---- window ----
let markAt = 0;
let cpuAtMark = process.cpuUsage();
let statsAtMark = sessions.stats();

function windowCounters(): NodeCounters {
  const cpu = process.cpuUsage(cpuAtMark);
  const stats = sessions.stats();
  return {
    name: config.name,
    windowSec: (now() - markAt) / 1e9,
    ...counters,
    errors: { ...errors },
    cpuSec: (cpu.user + cpu.system) / 1e6,
    cacheHits: stats.cacheHits - statsAtMark.cacheHits,
    cacheMisses: stats.cacheMisses - statsAtMark.cacheMisses,
    notificationsReceived: stats.notificationsReceived - statsAtMark.notificationsReceived,
  };
}

/** The [index, time] pairs of a changes log at or after `since`. */
function keepSince(log: number[], since: number): number[] {
  const kept: number[] = [];
  for (let k = 0; k < log.length; k += 2) if (log[k + 1]! >= since) kept.push(log[k]!, log[k + 1]!);
  return kept;
}

async function handle(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'warm': {
      // Every node reads the whole population once, so a step starts with warm caches.
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < ids.length; i = next++) await sessions.getSession(ids[i]!);
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      return sessions.stats().cacheSize;
    }
    case 'clock':
      return { t: now() };
    case 'cpu': {
      const c = process.cpuUsage();
      return c.user + c.system;
    }
    case 'load': {
      if (running) throw new Error('already loaded');
      running = true;
      const mix = command.mix;
      loops = Array.from({ length: config.inFlight }, (_, w) => loop(mix, prng(config.seed * 7_919 + w)));
      return null;
    }
    case 'mark':
      recording = true;
      windowStart = command.since;
      writesLog = [];
      changesLog = keepSince(changesLog, command.since);
      otherChanges = 0;
      Object.assign(counters, { reads: 0, writes: 0, creates: 0, deletes: 0 });
      for (const k of Object.keys(errors)) delete errors[k];
      statsAtMark = sessions.stats();
      cpuAtMark = process.cpuUsage();
      markAt = now();
      return { t: markAt };
    case 'stop': {
      running = false;
      const result = windowCounters();
      await Promise.all(loops);
      loops = [];
      return result;
    }
    case 'write-marker': {
      const s = await sessions.getSession(ids[markerIndex]!);
      s.setAttribute(UPDATED_KEY, navValue(writeNumber++));
      await sessions.updateSession(s);
      return { t: now() };
    }
    case 'wait-marker': {
      const since = command.since;
      for (let k = 0; k < changesLog.length; k += 2) {
        if (changesLog[k] === markerIndex && changesLog[k + 1]! >= since) return null;
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${config.name} did not hear the marker within ${command.timeoutMs} ms`)), command.timeoutMs);
        markerWaiter = { since, resolve: () => { clearTimeout(timer); resolve(); } };
      });
      return null;
    }
    case 'report': {
      recording = false;
      windowStart = Infinity;
      const logs: NodeLogs = { writes: writesLog, changes: changesLog, otherChanges };
      writesLog = [];
      changesLog = [];
      return logs;
    }
    case 'close':
      closing = true;
      running = false;
      await Promise.all(loops);
      subscription.unsubscribe();
      await node.close();
      return null;
  }
}

process.on('message', (command: Command) => {
  handle(command).then(
    (result) => send({ id: command.id, result }).then(() => { if (command.op === 'close') process.disconnect(); }),
    (err: unknown) => send({ id: command.id, error: { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } }),
  );
});
await send({ event: 'ready' });
