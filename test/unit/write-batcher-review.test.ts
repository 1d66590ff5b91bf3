import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBatcher } from '../../lib/store/write.batcher.js';
import { unhandledDuring } from '../support/unhandled.js';

/** Review of issue 13's WriteBatcher: a failing observer or a write that throws must not strand callers. */
interface Cmd {
  readonly id: string;
  readonly n: number;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Whether `promise` settles within a bounded number of event-loop turns (no timers). */
async function settlesWithin<T>(promise: Promise<T>, turns = 50): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < turns && !settled; i++) await turn();
  return settled;
}


describe('WriteBatcher review (issue 13)', () => {
  // The onBatch observer is the metrics service's (an OpenTelemetry meter the app gives).
  // It runs inside the success handler before the callers are resolved: when it throws,
  // no caller of the batch is ever settled, and the error becomes an unhandled rejection
  // of the `.finally()` chain (which crashes a Node process by default).
  it('an onBatch observer that throws neither strands the batch\'s callers nor leaves an unhandled rejection', async () => {
    const batcher = new WriteBatcher<Cmd, number>(async (commands) => commands.map((c) => ({ ok: true as const, value: c.n })), 2, 64);
    batcher.onBatch = () => {
      throw new Error('observer failed');
    };
    let settled = false;
    const unhandled = await unhandledDuring(async () => {
      settled = await settlesWithin(batcher.submit({ id: 'a', n: 1 }));
    });
    assert.equal(settled, true, 'the caller gets its outcome');
    assert.deepEqual(unhandled.map(String), []);
  });

  // `write` throwing synchronously (rather than rejecting) skips the bookkeeping in the
  // promise chain: inFlight stays 1 and the key stays busy forever, so the next command
  // (nothing in flight as far as the database knows) is never sent. SessionStore's write
  // is an async function, so this is the generic class's contract only.
  it('after a write that throws synchronously, the next command is still written', async () => {
    let calls = 0;
    const batcher = new WriteBatcher<Cmd, number>((commands) => {
      calls++;
      if (calls === 1) throw new Error('sync failure');
      return Promise.resolve(commands.map((c) => ({ ok: true as const, value: c.n })));
    }, 2, 64);
    await assert.rejects(batcher.submit({ id: 'a', n: 1 }), /sync failure/);
    const next = batcher.submit({ id: 'b', n: 2 });
    assert.equal(await settlesWithin(next), true, 'the next command is written');
    assert.equal(await next, 2);
  });
});
