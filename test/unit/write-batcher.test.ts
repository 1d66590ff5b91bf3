import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBatcher, type BatchOutcome } from '../../lib/store/write.batcher.js';

interface Cmd {
  readonly id: string;
  readonly n: number;
}

/** A batcher whose writes complete only when the test says so; records every batch. */
function harness(maxInFlight = 2, maxBatch = 64) {
  const batches: Array<{ commands: Cmd[]; finish: (outcomes?: Array<BatchOutcome<number>>) => void; fail: (err: unknown) => void }> = [];
  const batcher = new WriteBatcher<Cmd, number>(
    (commands) =>
      new Promise((resolve, reject) => {
        batches.push({
          commands,
          finish: (outcomes) => resolve(outcomes ?? commands.map((c) => ({ ok: true, value: c.n }))),
          fail: reject,
        });
      }),
    maxInFlight,
    maxBatch,
    () => null, // no patience timer: these tests are about turns of the event loop
  );
  return { batcher, batches };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Waits (a bounded number of event-loop turns) until `n` batches were sent. */
async function untilBatches(batches: unknown[], n: number): Promise<void> {
  for (let i = 0; batches.length < n; i++) {
    if (i > 100) throw new Error(`only ${batches.length} of ${n} batches were sent`);
    await turn();
  }
}
const ids = (commands: Cmd[]) => commands.map((c) => c.id);

describe('WriteBatcher (group commit)', () => {
  it('a lone command is written at once, in the same turn', () => {
    const { batcher, batches } = harness();
    void batcher.submit({ id: 'a', n: 1 });
    assert.equal(batches.length, 1);
    assert.deepEqual(ids(batches[0]!.commands), ['a']);
  });

  it('commands submitted while a batch is written wait for it and then go together, not to the free slot', async () => {
    const { batcher, batches } = harness();
    const first = batcher.submit({ id: 'a', n: 1 });
    const rest = [batcher.submit({ id: 'b', n: 2 }), batcher.submit({ id: 'c', n: 3 })];
    await turn();
    await turn();
    assert.equal(batches.length, 1, 'nothing else is sent while the first batch is in flight');
    batches[0]!.finish();
    assert.equal(await first, 1);
    await untilBatches(batches, 2);
    assert.deepEqual(ids(batches[1]!.commands), ['b', 'c']);
    batches[1]!.finish();
    assert.deepEqual(await Promise.all(rest), [2, 3]);
  });

  it('callers released by a batch queue their next commands into one batch with those already waiting', async () => {
    const { batcher, batches } = harness();
    const loop = async (id: string, rounds: number) => {
      for (let n = 0; n < rounds; n++) await batcher.submit({ id, n });
    };
    const loops = ['a', 'b', 'c', 'd'].map((id) => loop(id, 3));
    // 'a' goes alone (nothing in flight); b, c, d wait for it and go with a's next
    // command; then all four together; then the last three.
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      await untilBatches(batches, i + 1);
      sizes.push(batches[i]!.commands.length);
      batches[i]!.finish();
    }
    await Promise.all(loops);
    assert.deepEqual(sizes, [1, 4, 4, 3], 'no batch of one after the first');
  });

  it('a second batch is sent at once when more than maxBatch commands wait', async () => {
    const { batcher, batches } = harness(2, 2);
    void batcher.submit({ id: 'a', n: 0 });
    for (const id of ['b', 'c', 'd', 'e']) void batcher.submit({ id, n: 0 });
    batches[0]!.finish();
    await untilBatches(batches, 3);
    assert.deepEqual(batches.map((b) => ids(b.commands)), [['a'], ['b', 'c'], ['d', 'e']]);
  });

  it('two commands for one key never share a batch and keep their order', async () => {
    const { batcher, batches } = harness();
    const first = batcher.submit({ id: 'a', n: 1 });
    const second = batcher.submit({ id: 'a', n: 2 });
    const other = batcher.submit({ id: 'b', n: 3 });
    batches[0]!.finish();
    await first;
    await untilBatches(batches, 2);
    assert.deepEqual(ids(batches[1]!.commands), ['a', 'b']);
    assert.equal(batches[1]!.commands[0]!.n, 2);
    batches[1]!.finish();
    assert.deepEqual(await Promise.all([second, other]), [2, 3]);
  });

  it('each command gets its own outcome; a failed write fails its whole batch only', async () => {
    const { batcher, batches } = harness();
    void batcher.submit({ id: 'x', n: 0 }).catch(() => undefined);
    const good = batcher.submit({ id: 'a', n: 1 });
    const bad = batcher.submit({ id: 'b', n: 2 });
    batches[0]!.fail(new Error('connection lost'));
    await untilBatches(batches, 2);
    batches[1]!.finish([{ ok: true, value: 1 }, { ok: false, error: new TypeError('bad key') }]);
    assert.equal(await good, 1);
    await assert.rejects(bad, TypeError);
    await turn(); // the refill scheduled by the completed batch finds nothing queued
    const later = batcher.submit({ id: 'c', n: 3 });
    assert.equal(batches.length, 3, 'nothing in flight any more: sent at once');
    batches[2]!.finish();
    assert.equal(await later, 3);
  });

  it('a batch that takes too long lets the commands waiting behind it use the free slot', async () => {
    const batches: Cmd[][] = [];
    let secondSent!: () => void;
    const sent = new Promise<void>((resolve) => (secondSent = resolve));
    const batcher = new WriteBatcher<Cmd, number>(
      (commands) => {
        batches.push(commands);
        if (batches.length === 2) secondSent();
        // The first batch never completes (it waits for a row lock, say).
        return batches.length === 1 ? new Promise(() => undefined) : Promise.resolve(commands.map((c) => ({ ok: true as const, value: c.n })));
      },
      2,
      64,
      () => 1,
    );
    // The patience timer is unref'd (a real stuck batch holds an open socket, which keeps
    // the process alive); here nothing else would, so a ref'd interval stands in for it.
    const keepAlive = setInterval(() => undefined, 1_000);
    try {
      void batcher.submit({ id: 'stuck', n: 0 });
      const other = batcher.submit({ id: 'b', n: 2 });
      await sent;
      assert.deepEqual(batches.map(ids), [['stuck'], ['b']]);
      assert.equal(await other, 2);
    } finally {
      clearInterval(keepAlive);
    }
  });

  it('a small batch sent beside a stuck one does not keep its slot: its callers next wait for the big batch', async () => {
    const batches: Array<{ commands: Cmd[]; finish: () => void }> = [];
    let patient = false;
    const batcher = new WriteBatcher<Cmd, number>(
      (commands) =>
        new Promise((resolve) => {
          batches.push({ commands, finish: () => resolve(commands.map((c) => ({ ok: true, value: c.n }))) });
        }),
      2,
      64,
      // The first wait runs out at once; after that, commands wait as long as it takes.
      () => (patient ? null : ((patient = true), 1)),
    );
    const big = batcher.submit({ id: 'x', n: 0 });
    const straggler = batcher.submit({ id: 'y', n: 1 });
    await untilBatches(batches, 2);
    assert.deepEqual(batches.map((b) => ids(b.commands)), [['x'], ['y']], 'the straggler used the free slot once the patience ran out');
    batches[1]!.finish();
    assert.equal(await straggler, 1);
    // Its caller's next command: the slot beside the big batch is free, but it waits.
    const next = batcher.submit({ id: 'y', n: 2 });
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(batches.length, 2, 'the next command waits for the batch in flight instead of going alone again');
    batches[0]!.finish();
    assert.equal(await big, 0);
    await untilBatches(batches, 3);
    assert.deepEqual(ids(batches[2]!.commands), ['y']);
    batches[2]!.finish();
    assert.equal(await next, 2);
  });

  it('fast small batches do not shrink the patience a full batch gets', async () => {
    // Batches of one (stragglers sent when the patience ran out) are fast. Were the
    // patience taken from an average, they would pull it below a normal batch's time,
    // every batch would then look stuck, and the stream would split into batches of one.
    const seen: number[] = [];
    let slow = true;
    let hold: (() => void) | undefined;
    const batcher = new WriteBatcher<Cmd, number>(
      (commands) => {
        const done = () => commands.map((c) => ({ ok: true as const, value: c.n }));
        if (slow) {
          slow = false;
          // The slow batch: it takes at least 40 ms (a 45 ms timer: timers may fire up to a
          // millisecond early as performance.now() counts).
          return new Promise((resolve) => setTimeout(() => resolve(done()), 45));
        }
        if (hold === undefined) return Promise.resolve(done());
        const sent = hold;
        return new Promise((resolve) => {
          hold = () => resolve(done());
          sent();
        });
      },
      2,
      64,
      (slowMs) => {
        seen.push(slowMs);
        return null;
      },
    );
    await batcher.submit({ id: 'slow', n: 0 });
    for (let n = 1; n <= 5; n++) await batcher.submit({ id: `fast-${n}`, n });
    let heldSent!: () => void;
    const sent = new Promise<void>((resolve) => (heldSent = resolve));
    hold = heldSent; // the next batch stays in flight until released
    const inFlight = batcher.submit({ id: 'held', n: 6 });
    await sent;
    const waiting = batcher.submit({ id: 'waiting', n: 7 });
    const slowMs = seen.at(-1)!;
    // Five batches after one of at least 40 ms, the slowest recent duration is still at
    // least 40 × 0.95⁵ ms; an average would have fallen to at most 40 × 0.8⁵ ms plus
    // the fast batches' share.
    assert.ok(slowMs >= 40 * 0.95 ** 5, `patience is based on ${slowMs} ms`);
    const release = hold!;
    hold = undefined;
    release();
    assert.equal(await inFlight, 6);
    assert.equal(await waiting, 7);
  });

  it('a command finishing later frees its slot at once but keeps its key busy until then', async () => {
    const { batcher, batches } = harness();
    let finishLater!: (outcome: BatchOutcome<number>) => void;
    const later = new Promise<BatchOutcome<number>>((resolve) => (finishLater = resolve));
    const first = batcher.submit({ id: 'a', n: 1 });
    batches[0]!.finish([{ ok: true, value: -1, later }]);
    const sameKey = batcher.submit({ id: 'a', n: 2 });
    const otherKey = batcher.submit({ id: 'b', n: 3 });
    await untilBatches(batches, 2);
    assert.deepEqual(ids(batches[1]!.commands), ['b'], 'the slot is free, the key is not');
    batches[1]!.finish();
    assert.equal(await otherKey, 3);
    finishLater({ ok: true, value: 1 });
    assert.equal(await first, 1, 'the caller gets the later outcome');
    await untilBatches(batches, 3);
    assert.deepEqual(ids(batches[2]!.commands), ['a']);
    batches[2]!.finish();
    assert.equal(await sameKey, 2);
  });
});
