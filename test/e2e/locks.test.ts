import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  InvalidSessionIdError,
  LockExpiredError,
  LockHeldError,
  LockNotHeldError,
  LockService,
  SessionNotFoundError,
  type DistributedLock,
} from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { liveLocks, lockRow, rejectionOf } from '../support/lock-rows.js';
import { startNode, type TestNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

describe('distributed locks: exclusion, fencing and the API (two nodes)', () => {
  let db: TestDatabase;
  let a: TestNode;
  let b: TestNode;
  let locksA: LockService;
  let locksB: LockService;

  before(async () => {
    db = await createTestDatabase();
    a = await startNode(db.url);
    b = await startNode(db.url);
    locksA = a.app.get(LockService);
    locksB = b.app.get(LockService);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  it('a second lock object, on the same node or another, gets LockHeldError; after unlock() it succeeds', async () => {
    const s = await a.sessions.createSession('user-excl');
    const first = locksA.createLock(s.id, 'cart');
    await first.lock();
    assert.equal(first.isHeld, true);
    const firstToken = first.fencingToken!;
    assert.equal(typeof firstToken, 'number');
    assert.equal(first.signal.aborted, false);

    const sameNode = locksA.createLock(s.id, 'cart', { maxRetries: 0 });
    const otherNode = locksB.createLock(s.id, 'cart', { maxRetries: 1, retryDelay: 5 });
    for (const rival of [sameNode, otherNode]) {
      const err = await rejectionOf(rival.lock());
      assert.ok(err instanceof LockHeldError);
      assert.equal(err.code, 'LOCK_HELD');
      assert.equal(err.sessionId, s.id);
      assert.equal(err.resource, 'cart');
      assert.equal(rival.isHeld, false);
      assert.equal(rival.fencingToken, null);
    }
    // other resources of the session, and the same resource of another session, are independent
    const s2 = await b.sessions.createSession('user-excl');
    for (const independent of [locksB.createLock(s.id, 'profile'), locksB.createLock(s2.id, 'cart')]) {
      await independent.lock();
      await independent.unlock();
    }

    await first.unlock();
    assert.equal(first.isHeld, false);
    assert.equal(first.fencingToken, null);
    assert.equal(first.signal.aborted, true);

    await otherNode.lock();
    assert.ok(otherNode.fencingToken! > firstToken);
    await assert.rejects(sameNode.lock(), LockHeldError);
    await otherNode.unlock();
    await sameNode.lock();
    assert.equal(sameNode.isHeld, true);
    await sameNode.unlock();
  });

  it('10 concurrent lock() calls from two nodes: exactly one holds', async () => {
    const s = await a.sessions.createSession('user-race');
    for (const resource of ['race-1', 'race-2', 'race-3']) {
      const locks = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? locksA : locksB).createLock(s.id, resource));
      const outcomes = await Promise.allSettled(locks.map((lock) => lock.lock()));
      const winners = locks.filter((_, i) => outcomes[i]!.status === 'fulfilled');
      assert.equal(winners.length, 1, `exactly one winner for ${resource}`);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof LockHeldError, String(outcome.reason));
      }
      assert.equal(locks.filter((lock) => lock.isHeld).length, 1);
      assert.equal(await liveLocks(db, s.id, resource), 1);
      assert.equal((await lockRow(db, s.id, resource))!.token, winners[0]!.fencingToken);
      await winners[0]!.unlock();
      assert.equal(await liveLocks(db, s.id, resource), 0);
    }
  });

  it('10 workers x 5 resources in one session: each resource acquired exactly 10 times, never two holders at once', async () => {
    const s = await a.sessions.createSession('user-workers');
    const resources = ['r0', 'r1', 'r2', 'r3', 'r4'];
    const holders = new Map(resources.map((r) => [r, 0]));
    const acquisitions = new Map(resources.map((r) => [r, 0]));
    const tokens = new Map<string, number[]>(resources.map((r) => [r, []]));
    let heldErrors = 0;

    const worker = async (w: number) => {
      const locks = w % 2 === 0 ? locksA : locksB;
      const order = resources.map((_, i) => resources[(i + w) % resources.length]!);
      for (const resource of order) {
        for (;;) {
          const lock = locks.createLock(s.id, resource, { heartbeatInterval: 1000, leaseTime: 10_000 });
          try {
            await lock.lock();
          } catch (err) {
            if (!(err instanceof LockHeldError)) throw err;
            heldErrors++;
            await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4)); // back-off, not a wait for a condition
            continue;
          }
          holders.set(resource, holders.get(resource)! + 1);
          assert.equal(holders.get(resource), 1, `two holders of ${resource} at once`);
          tokens.get(resource)!.push(lock.fencingToken!);
          // work that yields to the event loop and to the database while holding
          const row = await lockRow(db, s.id, resource);
          assert.equal(row!.token, lock.fencingToken, 'the stored lease is this holder\'s');
          assert.equal(row!.live, true);
          holders.set(resource, holders.get(resource)! - 1);
          acquisitions.set(resource, acquisitions.get(resource)! + 1);
          await lock.unlock();
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, w) => worker(w)));

    for (const resource of resources) {
      assert.equal(acquisitions.get(resource), 10, `acquisitions of ${resource}`);
      const list = tokens.get(resource)!;
      for (let i = 1; i < list.length; i++) assert.ok(list[i]! > list[i - 1]!, `tokens of ${resource} increase`);
    }
    assert.equal(await liveLocks(db, s.id), 0);
    assert.ok(heldErrors > 0, 'the workers did contend');
  });

  it('fencingToken strictly increases over 100 acquisitions alternating between nodes', async () => {
    const s = await a.sessions.createSession('user-fence');
    const reused = [locksA.createLock(s.id, 'fence'), locksB.createLock(s.id, 'fence')];
    const tokens: number[] = [];
    for (let i = 0; i < 100; i++) {
      // reuse one object per node, with a fresh object every tenth time
      const lock = i % 10 === 9 ? (i % 2 === 0 ? locksA : locksB).createLock(s.id, 'fence') : reused[i % 2]!;
      await lock.lock();
      tokens.push(lock.fencingToken!);
      await lock.unlock();
      assert.equal(lock.fencingToken, null);
    }
    for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, `token ${i}: ${tokens[i]} > ${tokens[i - 1]}`);
  });

  it('extendLease moves the expiry (never shortens it); non-holders get LockNotHeldError', async () => {
    const s = await a.sessions.createSession('user-extend');
    const lock = locksA.createLock(s.id, 'step-up', { leaseTime: 500, heartbeatInterval: 500 });
    await lock.lock();
    const before = (await lockRow(db, s.id, 'step-up'))!.expiresAt;
    await lock.extendLease(5000);
    const extended = (await lockRow(db, s.id, 'step-up'))!.expiresAt;
    assert.ok(extended >= before + 4500, `expiry moved from ${before} to ${extended}`);
    await lock.extendLease(10);
    assert.equal((await lockRow(db, s.id, 'step-up'))!.expiresAt, extended, 'a shorter extension keeps the longer lease');
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      await assert.rejects(lock.extendLease(bad), TypeError);
    }

    const rival = locksB.createLock(s.id, 'step-up', { maxRetries: 0 });
    await assert.rejects(rival.lock(), LockHeldError);
    const neverLocked = locksA.createLock(s.id, 'elsewhere');
    for (const nonHolder of [rival, neverLocked]) {
      const err = await rejectionOf(nonHolder.unlock());
      assert.ok(err instanceof LockNotHeldError);
      assert.equal(err.code, 'LOCK_NOT_HELD');
      await assert.rejects(nonHolder.extendLease(1000), LockNotHeldError);
    }
    assert.equal((await lockRow(db, s.id, 'step-up'))!.live, true, 'a non-holder changed nothing');

    await lock.unlock();
    await assert.rejects(lock.extendLease(1000), LockNotHeldError);
    await assert.rejects(lock.unlock(), LockNotHeldError, 'a second unlock() is not a silent no-op');
  });

  it('after expiry extendLease throws LockExpiredError and unlock() throws LockNotHeldError; expiry is judged by the database', async () => {
    const s = await a.sessions.createSession('user-expiry');
    // lease runs out (no heartbeat): the holder notices on its own
    const short = locksA.createLock(s.id, 'short', { leaseTime: 300, heartbeatInterval: 300 });
    await short.lock();
    await waitFor(() => short.signal.aborted, 'the holder to be told its lease ran out', 3000);
    assert.ok(short.signal.reason instanceof LockExpiredError);
    assert.equal(short.isHeld, false);
    assert.equal(short.fencingToken, null);
    const expired = await rejectionOf(short.extendLease(1000));
    assert.ok(expired instanceof LockExpiredError);
    assert.equal(expired.code, 'LOCK_EXPIRED');
    await assert.rejects(short.unlock(), LockNotHeldError);
    await assert.rejects(short.unlock(), LockNotHeldError);

    // the database says the lease is over while this node still thinks it is live
    const judged = locksA.createLock(s.id, 'judged', { leaseTime: 30_000, heartbeatInterval: 30_000 });
    await judged.lock();
    await db.query(`UPDATE session_locks SET expires_at = now() - interval '1 millisecond' WHERE session_id = $1 AND resource = 'judged'`, [s.id]);
    assert.equal(judged.isHeld, true);
    await assert.rejects(judged.extendLease(1000), LockExpiredError);
    assert.equal(judged.isHeld, false);
    assert.ok(judged.signal.reason instanceof LockExpiredError);
    const successor = locksB.createLock(s.id, 'judged', { maxRetries: 0 });
    await successor.lock();
    await assert.rejects(judged.unlock(), LockNotHeldError); // and it does not touch the successor's lease
    assert.equal((await lockRow(db, s.id, 'judged'))!.token, successor.fencingToken);
    assert.equal(await liveLocks(db, s.id, 'judged'), 1);
    await successor.unlock();
  });

  it('withLock returns the result and releases; when fn throws it releases and rethrows the same error', async () => {
    const s = await a.sessions.createSession('user-with');
    let inside: DistributedLock | undefined;
    const result = await locksA.withLock(s.id, 'job', async (lock) => {
      inside = lock;
      assert.equal(lock.isHeld, true);
      await assert.rejects(locksB.createLock(s.id, 'job', { maxRetries: 0 }).lock(), LockHeldError);
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(inside!.isHeld, false);
    assert.equal(inside!.signal.aborted, true);

    const boom = new Error('boom');
    let thrower: DistributedLock | undefined;
    await assert.rejects(
      locksB.withLock(s.id, 'job', async (lock) => {
        thrower = lock;
        throw boom;
      }),
      (err) => err === boom,
    );
    assert.equal(thrower!.isHeld, false);
    assert.equal(await liveLocks(db, s.id, 'job'), 0);
    const next = locksA.createLock(s.id, 'job', { maxRetries: 0 });
    await next.lock();

    let called = false;
    await assert.rejects(
      locksB.withLock(s.id, 'job', async () => {
        called = true;
      }, { maxRetries: 0 }),
      LockHeldError,
    );
    assert.equal(called, false, 'fn does not run without the lock');
    await next.unlock();

    // lock() again while the previous unlock() may still be in flight, then unlock(): nothing stays held
    const relock = locksA.createLock(s.id, 'relock');
    await relock.lock();
    const releasing = relock.unlock();
    await relock.lock();
    await releasing;
    await relock.unlock();
    assert.equal(relock.isHeld, false);
    assert.equal(await liveLocks(db, s.id, 'relock'), 0);

    // fn may release early itself; withLock's own release is then a no-op
    assert.equal(await locksA.withLock(s.id, 'job', async (lock) => (await lock.unlock(), 'done')), 'done');
  });

  it('holding a lock does not touch the session version nor break updateSession(..., { checkVersion: true })', async () => {
    const s = await a.sessions.createSession('user-version', { cart: { value: [] } });
    const read = await a.sessions.getSession(s.id);
    const lock = locksA.createLock(s.id, 'checkout', { leaseTime: 400, heartbeatInterval: 50 });
    await lock.lock();
    const first = (await lockRow(db, s.id, 'checkout'))!.expiresAt;
    await waitFor(async () => (await lockRow(db, s.id, 'checkout'))!.expiresAt > first, 'a heartbeat to extend the lease', 3000);
    await lock.extendLease(2000);
    assert.equal((await b.sessions.getSession(s.id, { forceRefresh: true })).version, 1, 'lock writes leave the version alone');

    read.setAttribute('cart', ['book']);
    const updated = await a.sessions.updateSession(read, { checkVersion: true });
    assert.equal(updated.version, 2);
    const onB = await b.sessions.getSession(s.id, { forceRefresh: true });
    onB.setAttribute('cart', ['book', 'pen']);
    assert.equal((await b.sessions.updateSession(onB, { checkVersion: true })).version, 3);
    assert.equal(lock.isHeld, true);
    await lock.unlock();
    assert.equal((await a.sessions.getSession(s.id, { forceRefresh: true })).version, 3);
  });

  it('validates ids, resources and options; a missing session is SessionNotFoundError; locks are not re-entrant', async () => {
    assert.throws(() => locksA.createLock('not-a-uuid', 'r'), InvalidSessionIdError);
    await assert.rejects(locksA.withLock('not-a-uuid', 'r', async () => 1), InvalidSessionIdError);
    const s = await a.sessions.createSession('user-validate');
    for (const bad of ['', 'x'.repeat(256), 'a\0b', 42, null, undefined]) {
      assert.throws(() => locksA.createLock(s.id, bad as string), TypeError, `resource ${String(bad)}`);
    }
    const badOptions: unknown[] = [
      { leaseTime: -1 }, { leaseTime: 0 }, { leaseTime: Number.NaN }, { leaseTime: Number.POSITIVE_INFINITY },
      { heartbeatInterval: 0 }, { retryDelay: -1 }, { maxRetries: 1.5 }, { maxRetries: -1 }, { leaseTme: 5 }, 'fast',
    ];
    for (const options of badOptions) {
      const err = (() => {
        try {
          locksA.createLock(s.id, 'r', options as never);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof TypeError, `options ${JSON.stringify(options)}`);
    }
    assert.throws(() => locksA.createLock(s.id, 'r', { leaseTime: -1 }), /"leaseTime"/);
    assert.throws(() => locksA.createLock(s.id, 'r', { leaseTme: 5 } as never), /unknown lock option "leaseTme"/);
    await assert.rejects(locksA.withLock(s.id, 'r', 'nope' as never), TypeError);

    const longest = locksA.createLock(s.id.toUpperCase(), 'x'.repeat(255));
    assert.equal(longest.sessionId, s.id, 'the session id is canonical');
    await longest.lock();
    await assert.rejects(locksB.createLock(s.id, 'x'.repeat(255), { maxRetries: 0 }).lock(), LockHeldError);
    await assert.rejects(longest.lock(), /not re-entrant/);
    assert.equal(longest.isHeld, true);
    await longest.unlock();

    const concurrent = locksA.createLock(s.id, 'twice');
    const firstCall = concurrent.lock();
    await assert.rejects(concurrent.lock(), /already in progress/);
    await firstCall;
    await concurrent.unlock();

    const missing = locksA.createLock('00000000-0000-4000-8000-000000000000', 'r');
    await assert.rejects(missing.lock(), SessionNotFoundError);
    assert.equal(missing.isHeld, false);
  });
});
