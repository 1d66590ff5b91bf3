// notifyOnFailedUpdates: an update that fails its check tells the other nodes to drop
// their copy (it is likely stale), whether the update went alone or inside a batch (a
// batch does not report failures: the update runs again on its own, and that run notifies).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionConflictError } from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextChange, startNode, type TestNode } from '../support/nodes.js';

describe('notifyOnFailedUpdates', () => {
  let db: TestDatabase;
  let a: TestNode;
  let b: TestNode;

  before(async () => {
    db = await createTestDatabase();
    a = await startNode(db.url, { notifyOnFailedUpdates: true });
    b = await startNode(db.url);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  /**
   * A session both nodes cache at version 1, then changed behind their backs (no
   * notification), so both copies are stale. Returns A's copy.
   */
  async function staleEverywhere(userId: string) {
    const s = await a.sessions.createSession(userId, { n: { value: 0 } });
    await b.sessions.getSession(s.id);
    assert.equal((await b.sessions.getSession(s.id)).fromCache, true);
    const copy = await a.sessions.getSession(s.id);
    await db.query('UPDATE sessions SET version = version + 1 WHERE id = $1', [s.id]);
    return copy;
  }

  for (const inBatch of [false, true]) {
    it(`a failed checkVersion ${inBatch ? 'inside a batch' : 'alone'} makes the other node drop its stale copy`, async () => {
      const copy = await staleEverywhere(`failed-${inBatch ? 'batch' : 'alone'}`);
      const heard = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(copy.id));
      copy.setAttribute('n', 1);
      if (inBatch) {
        // The first of concurrent updates goes alone; the ones queued behind it go as one batch.
        const others = await Promise.all([0, 1, 2].map((i) => a.sessions.createSession(`failed-batch-other-${i}`)));
        const updates = [others[0]!, copy, others[1]!, others[2]!].map((s) => {
          s.setAttribute('n', 2);
          return a.sessions.updateSession(s, { checkVersion: true });
        });
        const results = await Promise.allSettled(updates);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
        assert.ok((results[1] as PromiseRejectedResult).reason instanceof SessionConflictError);
      } else {
        await assert.rejects(a.sessions.updateSession(copy, { checkVersion: true }), SessionConflictError);
      }
      await heard;
      const seen = await b.sessions.getSession(copy.id);
      assert.equal(seen.fromCache, false, 'B dropped its copy');
      assert.equal(seen.version, 2);
    });
  }
});
