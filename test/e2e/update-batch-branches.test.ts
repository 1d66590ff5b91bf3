import pg from 'pg';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionConflictError, SessionNotFoundError, type Session } from '../../lib/index.js';
import { SessionStore, type UpdateCommand } from '../../lib/store/session.store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode, type TestNode, recordUpdateBatches } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/**
 * Every outcome of the coalesced update statement in one batch: applied, applied after
 * a stale snapshot (another transaction committed to the row while the batch waited for
 * its lock), version conflict found on the retry, version conflict, attribute conflict
 * and session gone. The blocking transaction is real: it holds the row locks until the
 * batch statement is seen waiting for them.
 */
describe('update batch: every branch in one coalesced statement', () => {
  let db: TestDatabase;
  let node: TestNode;
  /** Sizes of the update batches the node wrote. */
  let batches: number[] = [];

  before(async () => {
    db = await createTestDatabase();
    node = await startNode(db.url, { notifyOnUpdates: false });
    batches = recordUpdateBatches(node);
  });

  after(async () => {
    await node?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  async function stored(id: string): Promise<{ version: number; attributes: Record<string, unknown> }> {
    const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [id]);
    const attrs = await db.query<{ key: string; value: string }>(`SELECT key, value FROM session_attributes WHERE session_id = $1`, [id]);
    return { version: row!.version, attributes: Object.fromEntries(attrs.map((r) => [r.key, JSON.parse(r.value)])) };
  }

  const values = (s: Session) => Object.fromEntries(Object.entries(s.getAttributes()).map(([k, v]) => [k, v.value]));

  it('ok, stale snapshot retried (twice: plain and checkVersion), version conflict, attribute conflict, not found', async () => {
    const make = (user: string) => node.sessions.createSession(user, { a: { value: 0 } });
    const [lone, plain, stalePlain, staleChecked, versionConflict, attributeConflict, gone] = await Promise.all(
      ['lone', 'plain', 'stale', 'stale-checked', 'version', 'attribute', 'gone'].map(make),
    );
    // Copies read now, before the others' changes below.
    const read = async (s: Session, value: number): Promise<Session> => {
      const copy = await node.sessions.getSession(s.id, { forceRefresh: true });
      copy.setAttribute('a', value);
      return copy;
    };
    const versionCopy = await read(versionConflict!, 1);
    const attributeCopy = await read(attributeConflict!, 1);
    const goneCopy = await read(gone!, 1);
    // Someone else changes two of them and deletes one (committed before the batch).
    await db.query(`UPDATE sessions SET version = version + 1 WHERE id = $1`, [versionConflict!.id]);
    await db.query(`UPDATE session_attributes SET value = '5', version = version + 1 WHERE session_id = $1 AND key = 'a'`, [attributeConflict!.id]);
    await db.query(`UPDATE sessions SET version = version + 1 WHERE id = $1`, [attributeConflict!.id]);
    await db.query(`DELETE FROM sessions WHERE id = $1`, [gone!.id]);

    const stalePlainCopy = await read(stalePlain!, 1);
    const staleCheckedCopy = await read(staleChecked!, 1);
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      // Another writer holds two rows: it adds an attribute and bumps the version, uncommitted.
      await blocker.query('BEGIN');
      for (const s of [stalePlain!, staleChecked!]) {
        await blocker.query(`UPDATE sessions SET version = version + 1 WHERE id = $1`, [s.id]);
        await blocker.query(`INSERT INTO session_attributes (session_id, key, value, version) VALUES ($1, 'theirs', '"t"', 2)`, [s.id]);
      }
      batches.length = 0;
      // The first update goes alone (nothing in flight); the rest wait and go as one batch.
      const loneCopy = await read(lone!, 1);
      const plainCopy = await read(plain!, 1);
      const settled = Promise.allSettled([
        node.sessions.updateSession(loneCopy),
        node.sessions.updateSession(plainCopy),
        node.sessions.updateSession(stalePlainCopy),
        node.sessions.updateSession(staleCheckedCopy, { checkVersion: true }),
        node.sessions.updateSession(versionCopy, { checkVersion: true }),
        node.sessions.updateSession(attributeCopy, { checkAttributeVersion: true }),
        node.sessions.updateSession(goneCopy),
      ]);
      await waitFor(
        async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).length > 0,
        'the batch statement waits for the rows the other writer holds',
      );
      await blocker.query('COMMIT');
      const [rLone, rPlain, rStale, rStaleChecked, rVersion, rAttribute, rGone] = await settled;

      assert.deepEqual(batches.slice(0, 2), [1, 6], 'one lone update, then the other six in one statement');
      for (const r of [rLone, rPlain]) {
        assert.equal(r.status, 'fulfilled');
        assert.equal((r as PromiseFulfilledResult<Session>).value.getAttribute('a'), 1);
      }
      // Retried on a fresh snapshot: applied on top of the other writer's commit, and the
      // state it returns (and caches) holds that writer's attribute too.
      assert.equal(rStale.status, 'fulfilled');
      const after = (rStale as PromiseFulfilledResult<Session>).value;
      assert.deepEqual(values(after), { a: 1, theirs: 't' });
      assert.equal(after.version, 3);
      assert.deepEqual(await stored(stalePlain!.id), { version: 3, attributes: { a: 1, theirs: 't' } });
      assert.deepEqual(values(await node.sessions.getSession(stalePlain!.id)), { a: 1, theirs: 't' }, 'the cache serves it');
      // checkVersion: the retry finds the other writer's version, a conflict; nothing written.
      assert.equal(rStaleChecked.status, 'rejected');
      assert.ok((rStaleChecked as PromiseRejectedResult).reason instanceof SessionConflictError);
      assert.deepEqual(await stored(staleChecked!.id), { version: 2, attributes: { a: 0, theirs: 't' } });

      assert.ok((rVersion as PromiseRejectedResult).reason instanceof SessionConflictError);
      assert.deepEqual(await stored(versionConflict!.id), { version: 2, attributes: { a: 0 } });
      const attributeError = (rAttribute as PromiseRejectedResult).reason as SessionConflictError;
      assert.ok(attributeError instanceof SessionConflictError);
      assert.equal(attributeError.attribute, 'a');
      assert.deepEqual(await stored(attributeConflict!.id), { version: 2, attributes: { a: 5 } });
      assert.ok((rGone as PromiseRejectedResult).reason instanceof SessionNotFoundError);
      assert.equal((await db.query(`SELECT 1 FROM sessions WHERE id = $1`, [gone!.id])).length, 0, 'nothing revived');
    } finally {
      await blocker.end();
    }
  });

  it('a coalesced batch is one statement: its updates commit in one transaction', async () => {
    // A batch statement PostgreSQL refuses is not an error the callers see: each update
    // then runs on its own. So only the database can tell that batches are really batched:
    // every update of one statement has the same transaction time (updated_at = now()).
    const sessions = await Promise.all(['tx-1', 'tx-2', 'tx-3', 'tx-4', 'tx-5'].map((user) => node.sessions.createSession(user)));
    batches.length = 0;
    // The first goes alone (nothing in flight); the other four wait and go together.
    const updated = await Promise.all(sessions.map((s) => {
      s.setAttribute('n', 1);
      return node.sessions.updateSession(s);
    }));
    assert.deepEqual(batches.slice(0, 2), [1, 4]);
    const rows = await db.query<{ at: string }>(`SELECT updated_at::text AS at FROM sessions WHERE id = ANY($1::uuid[])`, [updated.slice(1).map((s) => s.id)]);
    assert.equal(new Set(rows.map((r) => r.at)).size, 1, `one transaction time for the batch, got ${rows.map((r) => r.at).join(', ')}`);
  });

  it("each applied update in a batch returns the session's stored last access, also when another node's access is later", async () => {
    const sessions = await Promise.all(['own-1', 'own-2', 'later'].map((user) => node.sessions.createSession(user)));
    const store = node.app.get(SessionStore);
    const known = Date.now() - 60_000; // this node's latest access of each, a minute ago
    // Another node has since written a later access of the third session.
    await db.query(`UPDATE sessions SET last_accessed = now() - interval '1 second' WHERE id = $1`, [sessions[2]!.id]);
    batches.length = 0;
    const results = await Promise.all(sessions.map((s) => store.update({
      id: s.id, checkVersion: false, expectedVersion: s.version, checkedKeys: [], checkedVersions: [],
      setKeys: ['n'], setValues: ['1'], setExpiries: [null], deleteKeys: [],
      groupChanged: false, groupId: null, expiresAt: null, includeInactivity: null,
      notifyOnSuccess: false, notifyOnFailure: false, lastAccess: known,
      base: (s as unknown as { snapshot: UpdateCommand['base'] }).snapshot,
    })));
    assert.ok(batches.some((size) => size > 1), `coalesced (batch sizes ${batches.join(', ')})`);
    for (const [n, s] of sessions.entries()) {
      const [row] = await db.query<{ at: number }>(`SELECT floor(extract(epoch FROM last_accessed) * 1000)::float8 AS at FROM sessions WHERE id = $1`, [s.id]);
      const result = results[n]!;
      assert.equal(result.kind, 'ok');
      assert.equal((result as { snapshot: { lastAccessed: number } }).snapshot.lastAccessed, row!.at, `session ${n}`);
    }
    assert.ok((results[2] as { snapshot: { lastAccessed: number } }).snapshot.lastAccessed > known, 'the later access won');
  });
});
