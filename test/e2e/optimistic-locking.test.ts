import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionConflictError, type Session } from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode, type TestNode } from '../support/nodes.js';

describe('optimistic locking', () => {
  let db: TestDatabase;
  let node: TestNode;

  before(async () => {
    db = await createTestDatabase();
    node = await startNode(db.url);
  });

  after(async () => {
    await node?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  async function storedAttributes(id: string): Promise<Record<string, unknown>> {
    const rows = await db.query<{ key: string; value: string }>(`SELECT key, value FROM session_attributes WHERE session_id = $1`, [id]);
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }

  it('checkVersion: of two copies, the second update fails with SessionConflictError and writes nothing', async () => {
    const s = await node.sessions.createSession('u1', { a: { value: 1 } });
    const copy1 = await node.sessions.getSession(s.id);
    const copy2 = await node.sessions.getSession(s.id);
    copy1.setAttribute('a', 2);
    copy2.setAttribute('a', 3);
    copy2.setAttribute('b', 'new');
    await node.sessions.updateSession(copy1, { checkVersion: true });
    const err = await node.sessions.updateSession(copy2, { checkVersion: true }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof SessionConflictError);
    assert.equal(err.code, 'SESSION_CONFLICT');
    assert.equal(err.attribute, undefined);
    assert.deepEqual(await storedAttributes(s.id), { a: 2 });
    const [{ version }] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [s.id]);
    assert.equal(version, 2);
  });

  it('checkAttributeVersion: different attributes both succeed; the same attribute conflicts with .attribute', async () => {
    const s = await node.sessions.createSession('u2', { a: { value: 1 }, b: { value: 1 } });
    const copy1 = await node.sessions.getSession(s.id);
    const copy2 = await node.sessions.getSession(s.id);
    copy1.setAttribute('a', 2);
    copy2.setAttribute('b', 2);
    await node.sessions.updateSession(copy1, { checkAttributeVersion: true });
    const second = await node.sessions.updateSession(copy2, { checkAttributeVersion: true });
    assert.equal(second.version, 3);
    assert.deepEqual(await storedAttributes(s.id), { a: 2, b: 2 });

    const copy3 = await node.sessions.getSession(s.id);
    const copy4 = await node.sessions.getSession(s.id);
    copy3.setAttribute('a', 'three');
    copy4.setAttribute('a', 'four');
    copy4.setAttribute('c', 'unchecked-but-not-written');
    await node.sessions.updateSession(copy3, { checkAttributeVersion: true });
    const err = await node.sessions.updateSession(copy4, { checkAttributeVersion: true }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof SessionConflictError);
    assert.equal(err.attribute, 'a');
    assert.deepEqual(await storedAttributes(s.id), { a: 'three', b: 2 });
  });

  it('checkAttributeVersion: an attribute created meanwhile by someone else is a conflict', async () => {
    const s = await node.sessions.createSession('u3');
    const copy1 = await node.sessions.getSession(s.id);
    const copy2 = await node.sessions.getSession(s.id);
    copy1.setAttribute('fresh', 'first');
    copy2.setAttribute('fresh', 'second');
    await node.sessions.updateSession(copy1, { checkAttributeVersion: true });
    const err = await node.sessions.updateSession(copy2, { checkAttributeVersion: true }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof SessionConflictError);
    assert.equal(err.attribute, 'fresh');
    assert.deepEqual(await storedAttributes(s.id), { fresh: 'first' });
  });

  it('checkAttributeVersion: deleting an attribute someone else changed is a conflict', async () => {
    const s = await node.sessions.createSession('u3b', { x: { value: 1 } });
    const copy1 = await node.sessions.getSession(s.id);
    const copy2 = await node.sessions.getSession(s.id);
    copy1.setAttribute('x', 2);
    copy2.deleteAttribute('x');
    await node.sessions.updateSession(copy1, { checkAttributeVersion: true });
    await assert.rejects(node.sessions.updateSession(copy2, { checkAttributeVersion: true }), SessionConflictError);
    assert.deepEqual(await storedAttributes(s.id), { x: 2 });
  });

  it('without checks, last write wins per attribute and other attributes survive', async () => {
    const s = await node.sessions.createSession('u4', { a: { value: 0 }, b: { value: 0 } });
    const copy1 = await node.sessions.getSession(s.id);
    const copy2 = await node.sessions.getSession(s.id);
    copy1.setAttribute('a', 1);
    copy2.setAttribute('b', 2);
    await node.sessions.updateSession(copy1);
    const result = await node.sessions.updateSession(copy2);
    assert.equal(result.getAttribute('a'), 1, 'the returned state includes the other writer\'s change');
    assert.equal(result.getAttribute('b'), 2);
    assert.equal(result.version, 3);
  });

  it('the returned state carries what another writer changed meanwhile (group, expiry, inactivity flag), and the cache serves it', async () => {
    const s = await node.sessions.createSession('u8', { a: { value: 0 } });
    const stale = await node.sessions.getSession(s.id);
    const other = await node.sessions.getSession(s.id);
    other.groupId = 'g-8';
    const expiresAt = new Date(Date.now() + 3_600_000);
    await node.sessions.updateSession(other, { expiresAt, includeInactivity: false });
    stale.setAttribute('b', 1);
    const result = await node.sessions.updateSession(stale);
    for (const view of [result, await node.sessions.getSession(s.id)]) {
      assert.equal(view.groupId, 'g-8');
      assert.equal(view.expiresAt.getTime(), expiresAt.getTime());
      assert.equal(view.includeInactivity, false);
      assert.deepEqual([view.getAttribute('a'), view.getAttribute('b')], [0, 1]);
      assert.equal(view.version, 3);
    }
  });

  it('in a coalesced batch too, each update returns its own session with what others changed meanwhile', async () => {
    const other = await startNode(db.url);
    try {
      const ids = await Promise.all(['f1', 'f2', 'x', 'y'].map(async (k) => (await node.sessions.createSession('u10', { [k]: { value: 0 } })).id));
      const reads = await Promise.all(ids.map((id) => node.sessions.getSession(id)));
      const changedMeanwhile = await other.sessions.getSession(ids[2]!);
      changedMeanwhile.groupId = 'g-10';
      changedMeanwhile.setAttribute('theirs', 1);
      await other.sessions.updateSession(changedMeanwhile);
      // The first two go out at once (two batches in flight); x and y queue and share one.
      reads.forEach((s, i) => s.setAttribute('mine', i));
      const results = await Promise.all(reads.map((s) => node.sessions.updateSession(s)));
      const x = results[2]!;
      assert.deepEqual([x.groupId, x.getAttribute('theirs'), x.getAttribute('mine'), x.getAttribute('x'), x.version], ['g-10', 1, 2, 0, 3]);
      const y = results[3]!;
      assert.deepEqual([y.groupId, y.getAttribute('theirs'), y.getAttribute('mine'), y.getAttribute('y'), y.version], [null, undefined, 3, 0, 2]);
    } finally {
      await other.close();
    }
  });

  it('20 concurrent increments of one counter, each retrying on conflict, end at exactly 20', async () => {
    const s = await node.sessions.createSession('u5', { counter: { value: 0 } });
    let conflicts = 0;
    const increment = async (): Promise<void> => {
      let session: Session = await node.sessions.getSession(s.id);
      for (;;) {
        session.setAttribute('counter', (session.getAttribute<number>('counter') ?? 0) + 1);
        try {
          await node.sessions.updateSession(session, { checkAttributeVersion: true });
          return;
        } catch (err) {
          if (!(err instanceof SessionConflictError)) throw err;
          conflicts++;
          session = await node.sessions.getSession(s.id, { forceRefresh: true });
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, increment));
    assert.deepEqual(await storedAttributes(s.id), { counter: 20 });
    const final = await node.sessions.getSession(s.id);
    assert.equal(final.getAttribute('counter'), 20);
    assert.equal(final.version, 21);
    assert.ok(conflicts > 0, 'the increments really raced');
  });

  it('40 concurrent updates of one session from two nodes, each writing its own attribute, all land (with and without attribute checks)', async () => {
    const other = await startNode(db.url);
    try {
      for (const checkAttributeVersion of [false, true]) {
        const s = await node.sessions.createSession('u7', {});
        const nodes = [node, other];
        const returned = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const n = nodes[i % 2]!;
            const session = await n.sessions.getSession(s.id, { forceRefresh: true });
            session.setAttribute(`k${i}`, i);
            return n.sessions.updateSession(session, { checkAttributeVersion });
          }),
        );
        returned.forEach((r, i) => {
          assert.equal(r.getAttribute(`k${i}`), i, `update ${i} returns its own write`);
          // Each update adds one key, so the state at version v holds exactly v - 1 of them.
          assert.equal(Object.keys(r.getAttributes()).length, r.version - 1, `update ${i} returns the whole state of its version`);
        });
        const expected = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
        assert.deepEqual(await storedAttributes(s.id), expected);
        const [row] = await db.query<{ version: number }>('SELECT version FROM sessions WHERE id = $1', [s.id]);
        assert.equal(row!.version, 41, 'one version per update');
        assert.equal(Math.max(...returned.map((r) => r.version)), 41);
      }
    } finally {
      await other.close();
    }
  });

  it('20 concurrent checkVersion increments from two nodes end at exactly 20', async () => {
    const other = await startNode(db.url);
    try {
      const s = await node.sessions.createSession('u6', { counter: { value: 0 } });
      const nodes = [node, other];
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const n = nodes[i % 2]!;
          for (;;) {
            const session = await n.sessions.getSession(s.id, { forceRefresh: true });
            session.setAttribute('counter', (session.getAttribute<number>('counter') ?? 0) + 1);
            try {
              await n.sessions.updateSession(session, { checkVersion: true });
              return;
            } catch (err) {
              if (!(err instanceof SessionConflictError)) throw err;
            }
          }
        }),
      );
      assert.deepEqual(await storedAttributes(s.id), { counter: 20 });
    } finally {
      await other.close();
    }
  });
});
