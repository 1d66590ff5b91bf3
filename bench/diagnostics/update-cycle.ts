// Where a 32-in-flight update batch spends its time, for this library and for the
// hand-batched reference, side by side in one process (issue 13's diagnostic):
//   npm run bench:update-cycle [-- --ops=8000 --runs=3]
// In this closed loop every caller waits for its batch, so one batch follows another:
// the cycle is the window (from the batch's write call until its results are decoded)
// plus the gap (the callers' own work until the next batch leaves). The window splits
// into the client's work before the socket write, the server (write until the first
// byte of the response: statement, commit, network) and the client's work after it.
// Monkey-patches private members and `net.Socket`: a diagnostic, not a benchmark row.
import 'reflect-metadata';
import { Socket } from 'node:net';
import { SessionStore } from '../../lib/store/session.store.js';
import { navValue, UPDATED_KEY } from '../data.js';
import { run, type Op } from '../harness.js';
import { positiveIntegerArg, startUpdateLoop } from './update-loop.js';

const OPS = positiveIntegerArg('ops', 8000);
const RUNS = positiveIntegerArg('runs', 3);
const SESSIONS = 10_000;

/** Per-batch sums of one implementation's run. */
class Cycle {
  batches = 0;
  window = 0;
  gap = 0;
  beforeWrite = 0;
  server = 0;
  inFlight = 0;
  lastEnd = 0;

  reset(): void {
    Object.assign(this, { batches: 0, window: 0, gap: 0, beforeWrite: 0, server: 0, inFlight: 0, lastEnd: 0 });
  }
}

/** The socket written last and when, and when its first response bytes arrived. */
const io = { socket: undefined as Socket | undefined, wrote: 0, answered: 0 };
type Writev = (this: Socket, chunks: unknown, cb: unknown) => unknown;
type Push = (this: Socket, chunk: unknown, encoding?: BufferEncoding) => boolean;
const socketProto = Socket.prototype as unknown as { _writev: Writev; push: Push };
const writev = socketProto._writev;
socketProto._writev = function (this: Socket, chunks, cb) {
  Object.assign(io, { socket: this, wrote: performance.now(), answered: 0 });
  return writev.call(this, chunks, cb);
};
const push = socketProto.push;
socketProto.push = function (this: Socket, chunk, encoding) {
  if (this === io.socket && io.answered === 0) io.answered = performance.now();
  return push.call(this, chunk, encoding);
};

/** Wraps `owner[method]` (one batch per call) to add its window, gap and split to `cycle`. */
function observe(owner: object, method: string, cycle: Cycle): void {
  const target = owner as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method]!.bind(owner);
  target[method] = async (...args: unknown[]) => {
    const start = performance.now();
    if (cycle.inFlight === 0 && cycle.lastEnd > 0) cycle.gap += start - cycle.lastEnd;
    cycle.inFlight++;
    try {
      return await original(...args);
    } finally {
      const end = performance.now();
      cycle.batches++;
      cycle.window += end - start;
      if (io.wrote >= start && io.answered >= io.wrote) {
        cycle.beforeWrite += io.wrote - start;
        cycle.server += io.answered - io.wrote;
      }
      if (--cycle.inFlight === 0) cycle.lastEnd = end;
    }
  };
}

const loop = await startUpdateLoop(SESSIONS);
const { node, hand, key } = loop;
try {
  const impls: Array<{ name: string; op: Op; cycle: Cycle }> = [
    {
      name: 'this library: updateSession',
      op: async (n) => {
        const s = await node.sessions.getSession(key(n));
        s.setAttribute(UPDATED_KEY, navValue(n));
        await node.sessions.updateSession(s);
      },
      cycle: new Cycle(),
    },
    { name: 'reference: hand-batched', op: (n) => hand.update(key(n), navValue(n)), cycle: new Cycle() },
  ];
  observe(node.app.get(SessionStore), 'writeBatch', impls[0]!.cycle);
  observe(hand, 'write', impls[1]!.cycle);
  let cursor = 0;
  for (const impl of impls) await run(impl.op, { ops: 1000, inFlight: 32, start: (cursor += 1000) });
  const rows: Array<Record<string, string>> = [];
  for (let r = 1; r <= RUNS; r++) {
    for (const impl of impls) {
      impl.cycle.reset();
      const cpu = process.cpuUsage();
      const sample = await run(impl.op, { ops: OPS, inFlight: 32, start: (cursor += OPS) });
      const used = process.cpuUsage(cpu);
      const c = impl.cycle;
      const per = (total: number) => `${((total / c.batches) * 1000).toFixed(0)}`;
      rows.push({
        run: String(r),
        implementation: impl.name,
        'ops/s': sample.opsPerSec.toFixed(0),
        'updates/batch': (OPS / c.batches).toFixed(1),
        'gap µs': per(c.gap),
        'window µs': per(c.window),
        'client before write µs': per(c.beforeWrite),
        'server µs': per(c.server),
        'client after response µs': per(c.window - c.beforeWrite - c.server),
        'node CPU µs/update': ((used.user + used.system) / OPS).toFixed(1),
      });
    }
  }
  console.table(rows);
} finally {
  await loop.close();
}
