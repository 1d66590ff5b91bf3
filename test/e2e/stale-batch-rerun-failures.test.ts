import assert from 'node:assert/strict';
import pg from 'pg';
import { describe, it } from 'node:test';
import { CommitOutcomeUnknownError, type Session } from '../../lib/index.js';
import { useRecordedNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/**
 * Review of 3e97969 (the stale-batch re-run became the batch statement's second form, run
 * and decoded by the same routine as the first): the two ways that re-run can fail must
 * still end as in 4370c11. PostgreSQL refusing it: every update in it runs again on its
 * own, so only the guilty one fails. Its connection failing: every caller in it fails with
 * that, and none hangs; updates the first form applied are not affected.
 */
describe('the stale-batch re-run failing (review of 3e97969)', () => {
  const { db, node, batches, statements } = useRecordedNode({ notifyOnUpdates: false });

  /** `n` sessions and a copy of each read now; then another writer changes the first `stale` of them. */
  async function copies(tag: string, n: number, stale: number): Promise<Session[]> {
    const created = await Promise.all(Array.from({ length: n }, (_, i) => node.sessions.createSession(`${tag}-${i}`, { a: { value: 0 } })));
    const read = await Promise.all(created.map((s) => node.sessions.getSession(s.id, { forceRefresh: true })));
    await db.query(`UPDATE sessions SET version = version + 1 WHERE id = ANY($1::uuid[])`, [read.slice(0, stale).map((s) => s.id)]);
    return read;
  }

  it('PostgreSQL refuses the re-run (one session at the largest version): each update runs again alone, only that one fails', async () => {
    const [lead, ...rest] = await copies('refused', 11, 11);
    const guilty = rest[4]!;
    // Only where an update applies over the newer version does `version + 1` overflow:
    // the first form does not apply it (a stale copy), the second refuses the statement.
    await db.query(`UPDATE sessions SET version = 2147483647 WHERE id = $1`, [guilty.id]);
    statements.ran = [];
    batches.length = 0;
    const results = await Promise.allSettled([lead!, ...rest].map((c) => {
      c.setAttribute('a', 1);
      return node.sessions.updateSession(c);
    }));
    assert.deepEqual(batches.slice(0, 2), [1, 10]);
    assert.ok(statements.ran.includes('update_restale'), `the re-run went together: ${statements.ran.join(' ')}`);
    const all = [lead!, ...rest];
    for (let k = 0; k < all.length; k++) {
      const r = results[k]!;
      if (all[k] === guilty) {
        assert.equal(r.status, 'rejected');
        const err = (r as PromiseRejectedResult).reason as { code?: string; cause?: { code?: string } };
        assert.equal(err.code ?? err.cause?.code, '22003', String(err));
        const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [guilty.id]);
        assert.equal(row!.version, 2147483647, 'nothing written');
      } else {
        assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
        const saved = (r as PromiseFulfilledResult<Session>).value;
        assert.equal(saved.version, 3);
        const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [saved.id]);
        assert.equal(row!.version, 3);
      }
    }
  });

  it('the re-run loses its connection: every update in it fails with that, none hangs; the applied ones stand', async () => {
    // The first 8 are stale (the re-run), the last 4 current (applied by the first form).
    const [lead, ...rest] = await copies('cut', 13, 9);
    const staleOnes = rest.slice(0, 8);
    const current = rest.slice(8);
    // A row lock on one stale session holds the re-run (the first form does not lock a row
    // it does not apply), so its connection can be cut while it runs.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [staleOnes[3]!.id]);
      statements.ran = [];
      batches.length = 0;
      const pending = Promise.allSettled([lead!, ...staleOnes, ...current].map((c) => {
        c.setAttribute('a', 1);
        return node.sessions.updateSession(c);
      }));
      let pid: number | undefined;
      await waitFor(async () => {
        const rows = await db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%check_version%'`);
        pid = rows[0]?.pid;
        return pid !== undefined;
      }, 'the re-run to wait for the row lock');
      assert.deepEqual(statements.ran.slice(-1), ['update_restale']);
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid])).length === 0, 'the re-run\'s backend to end');
      // Released before the results are awaited: an update that went on after the cut would now apply, not wait.
      await holder.query('ROLLBACK');
      const results = await pending;
      const staleResults = results.slice(1, 1 + staleOnes.length);
      for (const r of staleResults) {
        assert.equal(r.status, 'rejected');
        // The connection failed after the statement was sent: committed or not is unknown to the caller.
        const err = (r as PromiseRejectedResult).reason as { cause?: { code?: string } };
        assert.ok(err instanceof CommitOutcomeUnknownError, String(err));
        assert.equal(err.cause?.code, '57P01', String(err.cause));
      }
      for (const [k, r] of results.slice(1 + staleOnes.length).entries()) {
        assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
        assert.equal((r as PromiseFulfilledResult<Session>).value.version, 2);
        const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [current[k]!.id]);
        assert.equal(row!.version, 2);
      }
      // The re-run was rolled back with its connection: the stale sessions are as the other writer left them.
      const rows = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = ANY($1::uuid[])`, [staleOnes.map((s) => s.id)]);
      assert.deepEqual(rows.map((r) => r.version), staleOnes.map(() => 2));
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    // The store goes on: a fresh copy of a session the cut re-run held updates.
    const copy = await node.sessions.getSession(staleOnes[0]!.id, { forceRefresh: true });
    copy.setAttribute('a', 2);
    assert.equal((await node.sessions.updateSession(copy)).version, 3);
  });
});
