import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Session } from '../../lib/index.js';
import { useRecordedNode } from '../support/nodes.js';

/**
 * Review of 9cd8374: the batch statement no longer applies an update over a version
 * someone else wrote since its caller read the session; each such update runs again on
 * its own. Those re-runs are outside the batcher's slots (UPDATE_BATCHES_IN_FLIGHT = 2,
 * "the rest of the pool stays free for reads"), so a batch of stale copies (another node
 * wrote those sessions meanwhile: the ordinary multi-node case, no checks involved) must
 * not turn into as many concurrent statements as it has updates, taking the whole pool.
 */
describe('a batch of stale copies (review of 9cd8374)', () => {
  const { db, node, batches, statements } = useRecordedNode({ notifyOnUpdates: false });

  const shapes = [
    { checks: false, deletes: false },
    { checks: true, deletes: false },
    { checks: false, deletes: true },
    { checks: true, deletes: true },
  ];
  for (const shape of shapes) {
    const name = `${shape.checks ? ' checkAttributeVersion' : ''}${shape.deletes ? ' with a delete' : ''}` || ' plain';
    it(`30 updates (${name.trim()}) of sessions another writer changed since they were read: all land, with few update statements at once`, async () => {
      const created = await Promise.all(Array.from({ length: 30 }, (_, i) => node.sessions.createSession(`stale-${name}-${i}`, { a: { value: 0 }, b: { value: 0 } })));
      const copies: Session[] = await Promise.all(created.map((s) => node.sessions.getSession(s.id, { forceRefresh: true })));
      // Another node's writes (committed before ours; this node was not told: notify off).
      const ids = created.map((s) => s.id);
      await db.query(`UPDATE sessions SET version = version + 1 WHERE id = ANY($1::uuid[])`, [ids]);
      await db.query(`INSERT INTO session_attributes (session_id, key, value, version) SELECT unnest($1::uuid[]), 'theirs', '"t"', 2`, [ids]);
      batches.length = 0;
      statements.peak = 0;
      const saved = await Promise.all(copies.map((c) => {
        c.setAttribute('a', 1);
        if (shape.deletes) c.deleteAttribute('b');
        return node.sessions.updateSession(c, { checkAttributeVersion: shape.checks });
      }));
      assert.deepEqual(batches.slice(0, 2), [1, 29]);
      const expected = { a: [1, 3], ...(shape.deletes ? {} : { b: [0, 1] }), theirs: ['t', 2] };
      for (const s of saved) {
        assert.equal(s.version, 3);
        assert.deepEqual(Object.fromEntries(Object.entries(s.getAttributes()).map(([k, v]) => [k, [v.value, v.version]])), expected);
        const rows = await db.query<{ key: string; value: string; version: number }>(`SELECT key, value, version FROM session_attributes WHERE session_id = $1`, [s.id]);
        assert.deepEqual(Object.fromEntries(rows.map((r) => [r.key, [JSON.parse(r.value), r.version]])), expected, 'returned as stored');
      }
      // Two batches in flight, and the re-runs of each beside it one at a time at most.
      assert.ok(statements.peak <= 4, `update statements at once: ${statements.peak} (the pool has 10 connections)`);
    });
  }
});
