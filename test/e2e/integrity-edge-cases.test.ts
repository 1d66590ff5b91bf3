import pg from 'pg';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LockNotHeldError, LockService } from '../../lib/index.js';
import { isStatementError, commitOutcome } from '../../lib/store/commit-outcome.js';
import { MIN_STORABLE_TIME } from '../../lib/validation/date.validation.js';

import { useTestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { startNode, type TestNode } from '../support/nodes.js';

const db = useTestDatabase();

describe('integrity: edge cases found in review', () => {
  let huge: TestNode;
  let node: TestNode;
  before(async () => {
    huge = await startNode(db.url, { inactivityDuration: 1e15, notifyOnUpdates: false });
    node = await startNode(db.url);
  });
  after(async () => {
    await huge?.close();
    await node?.close();
  });

  it('an accepted inactivityDuration (1e15 ms) still allows updates and lock()', async () => {
    const s = await huge.sessions.createSession('u-huge', { a: { value: 1 } });
    s.setAttribute('a', 2);
    const errs: unknown[] = [];
    await huge.sessions.updateSession(s).catch((e: unknown) => errs.push(e));
    const lock = huge.app.get(LockService).createLock(s.id, 'r');
    await lock.lock().catch((e: unknown) => errs.push(e));
    if (lock.isHeld) await lock.unlock();
    assert.deepEqual(errs.map(String), []);
  });

  it('a second unlock() concurrent with the first rejects with LockNotHeldError', async () => {
    const s = await node.sessions.createSession('u-lock');
    const lock = node.app.get(LockService).createLock(s.id, 'r2');
    await lock.lock();
    const [a, b] = await Promise.allSettled([lock.unlock(), lock.unlock()]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.ok((b as PromiseRejectedResult).reason instanceof LockNotHeldError);
  });

  it('the earliest date the validator accepts is stored', async () => {
    const s = await node.sessions.createSession('u-date', { a: { value: 1, expiresAt: new Date(MIN_STORABLE_TIME) } });
    assert.ok(s.id);
    const s2 = await node.sessions.createSession('u-date2', {}, { expiresAt: new Date(MIN_STORABLE_TIME) });
    assert.ok(s2.id);
  });

  it('a socket error (EPIPE) is not classified as a certain, statement-level failure', () => {
    const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
    assert.equal(isStatementError(err), false);
    assert.equal(commitOutcome(err), 'unknown');
  });
  it('two updates of one session made in order are written in that order, also when the first must retry', async () => {
    const s = await node.sessions.createSession('u-order', { x: { value: 0 } });
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('UPDATE sessions SET version = version + 1 WHERE id = $1', [s.id]);
      const first = await node.sessions.getSession(s.id, { forceRefresh: true });
      first.setAttribute('x', 1);
      const u1 = node.sessions.updateSession(first);
      await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).length > 0, 'u1 blocked');
      const second = await node.sessions.getSession(s.id, { forceRefresh: true });
      second.setAttribute('x', 2);
      const u2 = node.sessions.updateSession(second); // made after u1: queued behind it
      await blocker.query('COMMIT');
      await Promise.all([u1, u2]);
    } finally {
      await blocker.end();
    }
    const [row] = await db.query<{ value: string }>(`SELECT a.value FROM session_attributes a WHERE a.session_id = $1 AND a.key = 'x'`, [s.id]);
    assert.equal(row!.value, '2', 'the later update was overwritten by the earlier one');
  });
});
