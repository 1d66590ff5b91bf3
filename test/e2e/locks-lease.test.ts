import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LockExpiredError, LockHeldError, LockNotHeldError, LockService, SessionError, SessionNotFoundError, type DistributedLock } from '../../lib/index.js';
import { SESSION_DATABASE } from '../../lib/options/internal.tokens.js';
import type { SessionDatabase } from '../../lib/store/session.database.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { dbNow, liveLocks, lockRow, lockRowCount, rejectionOf } from '../support/lock-rows.js';
import { startNode, type TestNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/** Tries `lock.lock()` once per call: true when acquired, false on LockHeldError, throws otherwise. */
async function tryLock(lock: { lock(): Promise<void> }): Promise<boolean> {
  try {
    await lock.lock();
    return true;
  } catch (err) {
    if (err instanceof LockHeldError) return false;
    throw err;
  }
}

/**
 * Waits until `rival` acquires the lock `holder` held, and asserts that the holder had
 * already given it up by then (never two holders) and was told through its signal.
 */
async function assertTakenOverAfterLoss(
  holder: DistributedLock,
  rival: DistributedLock,
  who: string,
  timeoutMs: number,
): Promise<void> {
  let heldAfterSuccessor = true;
  await waitFor(
    async () => {
      if (!(await tryLock(rival))) return false;
      heldAfterSuccessor = holder.isHeld;
      return true;
    },
    `the lease of ${who} to run out`,
    timeoutMs,
  );
  assert.equal(heldAfterSuccessor, false, `${who} had given the lock up before the successor got it`);
  await waitFor(() => holder.signal.aborted, `${who} to be told through its signal`, 1000);
  assert.ok(holder.signal.reason instanceof LockExpiredError);
}

describe('distributed locks: leases, heartbeats and failures (several nodes)', () => {
  let db: TestDatabase;
  let a: TestNode;
  let b: TestNode;
  let locksA: LockService;
  let locksB: LockService;
  const extraNodes: TestNode[] = [];

  const startExtraNode = async () => {
    const node = await startNode(db.url);
    extraNodes.push(node);
    return { node, locks: node.app.get(LockService) };
  };

  before(async () => {
    db = await createTestDatabase();
    a = await startNode(db.url);
    b = await startNode(db.url);
    locksA = a.app.get(LockService);
    locksB = b.app.get(LockService);
  });

  after(async () => {
    for (const node of extraNodes) await node.close();
    await a?.close();
    await b?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  it('with heartbeats a lock is held well past leaseTime; after unlock() the heartbeat does not bring it back', async () => {
    const s = await a.sessions.createSession('user-heartbeat');
    const lease = 400;
    const heartbeat = 80;
    const lock = locksA.createLock(s.id, 'hb', { leaseTime: lease, heartbeatInterval: heartbeat });
    await lock.lock();
    const token = lock.fencingToken;
    const start = await dbNow(db);
    const rival = locksB.createLock(s.id, 'hb', { maxRetries: 0 });
    await waitFor(
      async () => {
        assert.equal(await tryLock(rival), false, 'the rival must not get a heartbeated lock');
        assert.equal(lock.isHeld, true);
        return (await dbNow(db)) > start + 4 * lease;
      },
      'the database clock to pass four lease times',
      10_000,
    );
    assert.equal(lock.fencingToken, token);
    assert.equal(lock.signal.aborted, false);
    assert.equal((await lockRow(db, s.id, 'hb'))!.live, true);

    await lock.unlock();
    const released = await dbNow(db);
    await waitFor(
      async () => {
        assert.equal((await lockRow(db, s.id, 'hb'))!.live, false, 'a heartbeat revived the lease after unlock()');
        return (await dbNow(db)) > released + 5 * heartbeat;
      },
      'five heartbeat intervals to pass after unlock()',
      10_000,
    );
    assert.equal(await tryLock(rival), true);
    await rival.unlock();
  });

  it('a holder whose app is closed without unlock(): another node acquires when the lease ends, not before', async () => {
    const { node, locks } = await startExtraNode();
    const s = await a.sessions.createSession('user-closed');
    // Long enough that closing the node and the next query fit in it on a loaded machine.
    const lease = 3000;
    const held = locks.createLock(s.id, 'job', { leaseTime: lease, heartbeatInterval: 200 });
    await held.lock();
    const initial = (await lockRow(db, s.id, 'job'))!.expiresAt;
    await waitFor(async () => (await lockRow(db, s.id, 'job'))!.expiresAt > initial, 'a heartbeat to extend the lease', 5000);

    await node.close(); // no unlock(): the node goes away
    const closedAt = Date.now();
    assert.equal(held.signal.aborted, true, 'the holder is told its heartbeat stopped');
    await assert.rejects(locks.createLock(s.id, 'other').lock(), /shutting down/);
    const leaseEnd = (await lockRow(db, s.id, 'job'))!.expiresAt; // final: close() waited for running heartbeats

    const successorLease = 5000;
    const successor = locksA.createLock(s.id, 'job', { leaseTime: successorLease, maxRetries: 0 });
    assert.ok((await dbNow(db)) < leaseEnd, 'the next attempt is made before the lease ends');
    assert.equal(await tryLock(successor), false, 'the lease of the closed node still holds');

    const margin = 3000;
    await waitFor(() => tryLock(successor), 'another node to acquire the abandoned lock', lease + margin);
    assert.ok(Date.now() - closedAt < lease + margin);
    const acquiredAt = (await lockRow(db, s.id, 'job'))!.expiresAt - successorLease;
    assert.ok(acquiredAt >= leaseEnd - 0.001, `acquired at ${acquiredAt}, before the lease ended at ${leaseEnd}`);
    await successor.unlock();
  });

  it('without heartbeat the lease lasts leaseTime: the holder is told first, then a successor gets a higher token', async () => {
    const s = await a.sessions.createSession('user-nohb');
    const lock = locksA.createLock(s.id, 'nohb', { leaseTime: 300, heartbeatInterval: 1000 });
    await lock.lock();
    const token = lock.fencingToken!;
    const rival = locksB.createLock(s.id, 'nohb', { maxRetries: 0 });
    assert.equal(await tryLock(rival), false);
    await assertTakenOverAfterLoss(lock, rival, 'the old holder', 3000);
    assert.equal(lock.isHeld, false);
    assert.ok(rival.fencingToken! > token);
    await assert.rejects(lock.unlock(), LockNotHeldError, 'unlock() tells the old holder it was not exclusive');
    assert.equal((await lockRow(db, s.id, 'nohb'))!.token, rival.fencingToken, 'the old holder did not release the successor');
    await rival.unlock();
  });

  it('a paused holder is told it lost the lock, and its fencing token lets a downstream store reject it', async () => {
    await db.query(`CREATE TABLE IF NOT EXISTS ledger (resource text PRIMARY KEY, token bigint NOT NULL, value text NOT NULL)`);
    /** The downstream store: accepts a write only with a token at least as high as the last one it saw. */
    const write = async (token: number, value: string) =>
      (await db.query(
        `INSERT INTO ledger AS l (resource, token, value) VALUES ('pay', $1, $2)
         ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token, value = EXCLUDED.value WHERE l.token <= EXCLUDED.token
         RETURNING 1`,
        [token, value],
      )).length === 1;

    const s = await a.sessions.createSession('user-fenced');
    const stale = locksA.createLock(s.id, 'pay', { leaseTime: 30_000, heartbeatInterval: 50 });
    await stale.lock();
    const staleToken = stale.fencingToken!;
    assert.equal(await write(staleToken, 'first'), true);

    // The holder is paused past its lease (as after a long GC or a frozen VM): the database's clock says it is over.
    await db.query(`UPDATE session_locks SET expires_at = now() - interval '1 millisecond' WHERE session_id = $1 AND resource = 'pay'`, [s.id]);
    const successor = locksB.createLock(s.id, 'pay', { maxRetries: 0, leaseTime: 30_000, heartbeatInterval: 50 });
    await successor.lock();
    assert.ok(successor.fencingToken! > staleToken);
    assert.equal(await write(successor.fencingToken!, 'second'), true);
    assert.equal(await write(staleToken, 'late write of the paused holder'), false, 'the downstream store rejects the stale token');
    assert.deepEqual(await db.query(`SELECT value FROM ledger WHERE resource = 'pay'`), [{ value: 'second' }]);

    await waitFor(() => stale.signal.aborted, 'the paused holder to learn it lost the lock', 3000);
    assert.ok(stale.signal.reason instanceof LockExpiredError);
    assert.equal(stale.isHeld, false);
    await assert.rejects(stale.extendLease(1000), LockExpiredError);
    await assert.rejects(stale.unlock(), LockNotHeldError);
    const row = (await lockRow(db, s.id, 'pay'))!;
    assert.equal(row.token, successor.fencingToken, 'neither heartbeat nor unlock of the stale holder touched the new lease');
    assert.equal(row.live, true);
    assert.equal(successor.isHeld, true);
    await successor.unlock();
  });

  it('deleting the session frees its locks and tells their holders', async () => {
    const s = await a.sessions.createSession('user-deleted');
    const onA = locksA.createLock(s.id, 'r1', { leaseTime: 5000, heartbeatInterval: 50 });
    const onB = locksB.createLock(s.id, 'r2', { leaseTime: 5000, heartbeatInterval: 50 });
    await onA.lock();
    await onB.lock();
    assert.equal(await liveLocks(db, s.id), 2);
    await b.sessions.deleteSession(s.id);
    assert.equal(await lockRowCount(db, s.id), 0);
    await waitFor(() => onA.signal.aborted && onB.signal.aborted, 'the holders to learn their locks are gone', 3000);
    for (const lock of [onA, onB]) {
      assert.ok(lock.signal.reason instanceof LockExpiredError);
      assert.equal(lock.isHeld, false);
      await assert.rejects(lock.extendLease(1000), LockExpiredError);
      await assert.rejects(lock.unlock(), LockNotHeldError);
    }
    await assert.rejects(locksA.createLock(s.id, 'r1').lock(), SessionNotFoundError);
  });

  it('a database failure during lock() (backend terminated mid-statement) rejects, holds nothing, writes no lease', async () => {
    const s = await a.sessions.createSession('user-terminated');
    // An uncommitted lease row makes lock() wait inside its statement, where we kill its backend.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO session_locks (session_id, resource, owner, fencing_token, expires_at) VALUES ($1, 'fail', gen_random_uuid(), 0, now() + interval '1 hour')`,
        [s.id],
      );
      const [{ pid: blockerPid }] = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      const lock = locksA.createLock(s.id, 'fail', { maxRetries: 0 });
      const outcome = rejectionOf(lock.lock());
      let victim: number | undefined;
      await waitFor(async () => {
        const rows = await db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> $1 AND wait_event_type = 'Lock' AND query LIKE '%session_locks%'`,
          [blockerPid],
        );
        victim = rows[0]?.pid;
        return victim !== undefined;
      }, 'lock() to wait on the uncommitted row');
      await db.query('SELECT pg_terminate_backend($1)', [victim]);
      const err = await outcome;
      assert.ok(err instanceof Error, String(err));
      assert.ok(!(err instanceof SessionError), `a database error, not ${String(err)}`);
      assert.equal(lock.isHeld, false);
      assert.equal(lock.fencingToken, null);
      await blocker.query('ROLLBACK');
      assert.equal(await liveLocks(db, s.id, 'fail'), 0);
      // the node recovers with a fresh connection
      await lock.lock();
      assert.equal(lock.isHeld, true);
      await lock.unlock();
    } finally {
      await blocker.end();
    }
  });

  it('a database failure during lock() (the node lost its connection pool) rejects and holds nothing', async () => {
    const { node, locks } = await startExtraNode();
    const s = await a.sessions.createSession('user-no-pool');
    await node.app.get<SessionDatabase>(SESSION_DATABASE).dataSource.destroy();
    const lock = locks.createLock(s.id, 'gone');
    const err = await rejectionOf(lock.lock());
    assert.ok(err instanceof Error && !(err instanceof SessionError), String(err));
    assert.equal(lock.isHeld, false);
    assert.equal(lock.fencingToken, null);
    assert.equal(await lockRowCount(db, s.id), 0);
    await node.close();
  });

  it('a holder cut off from the database gives the lock up when its lease runs out, before anyone else gets it', async () => {
    const { node, locks } = await startExtraNode();
    const s = await a.sessions.createSession('user-partition');
    const lock = locks.createLock(s.id, 'cut', { leaseTime: 500, heartbeatInterval: 50 });
    await lock.lock();
    await node.app.get<SessionDatabase>(SESSION_DATABASE).dataSource.destroy(); // every heartbeat fails from now on
    const rival = locksA.createLock(s.id, 'cut', { maxRetries: 0 });
    await assertTakenOverAfterLoss(lock, rival, 'the cut-off holder', 5000);
    assert.ok(node.logger.lines.some((l) => l.level === 'warn' && l.message.includes('heartbeat')), 'failed heartbeats are logged');
    await rival.unlock();
    await node.close();
  });
});
