import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidSessionIdError, SessionInvalidatedError, SessionNotFoundError } from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode, type TestNode } from '../support/nodes.js';

describe('maxSessions, deletes, listing and regeneration', () => {
  let db: TestDatabase;
  let node: TestNode;

  before(async () => {
    db = await createTestDatabase();
    node = await startNode(db.url, { maxSessions: 3 });
  });

  after(async () => {
    await node?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  const storedIds = async (userId: string) =>
    (await db.query<{ id: string }>(`SELECT id FROM sessions WHERE user_id = $1 ORDER BY id`, [userId])).map((r) => r.id).sort();

  it('the 4th session of a user removes the least recently accessed one, by the accesses this node has seen', async () => {
    const s1 = await node.sessions.createSession('max-user');
    const s2 = await node.sessions.createSession('max-user');
    const s3 = await node.sessions.createSession('max-user');
    // s1 is the oldest by creation, but read after s2 was created (not yet flushed):
    await node.sessions.getSession(s1.id);
    await node.sessions.getSession(s3.id);
    const [{ count: pending }] = await db.query<{ count: string }>(
      `SELECT count(*) FROM sessions WHERE id = $1 AND last_accessed > created_at`, [s1.id]);
    assert.equal(pending, '0', 'the access is not in the database yet');
    const s4 = await node.sessions.createSession('max-user');
    assert.deepEqual(await storedIds('max-user'), [s1.id, s3.id, s4.id].sort());
    await assert.rejects(node.sessions.getSession(s2.id), SessionNotFoundError, 'evicted session is gone from the cache too');
    assert.equal((await node.sessions.getSession(s1.id)).fromCache, true);
  });

  it('concurrent creates for one user never leave more than maxSessions', async () => {
    await Promise.all(Array.from({ length: 10 }, () => node.sessions.createSession('burst-user')));
    assert.equal((await storedIds('burst-user')).length, 3);
  });

  it('deleteSession removes the session and its attributes; deleting again is fine', async () => {
    const s = await node.sessions.createSession('del-1', { a: { value: 1 } });
    await node.sessions.getSession(s.id);
    await node.sessions.deleteSession(s.id);
    await assert.rejects(node.sessions.getSession(s.id), SessionNotFoundError);
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM session_attributes WHERE session_id = $1`, [s.id]);
    assert.equal(count, '0');
    await node.sessions.deleteSession(s.id);
    await assert.rejects(node.sessions.deleteSession('not-a-uuid'), InvalidSessionIdError);
  });

  it('deleteAllUserSessions removes only that user\'s sessions', async () => {
    const a1 = await node.sessions.createSession('del-user-a');
    const a2 = await node.sessions.createSession('del-user-a');
    const b = await node.sessions.createSession('del-user-b');
    await node.sessions.getSession(a1.id);
    await node.sessions.deleteAllUserSessions('del-user-a');
    await assert.rejects(node.sessions.getSession(a1.id), SessionNotFoundError);
    await assert.rejects(node.sessions.getSession(a2.id), SessionNotFoundError);
    assert.equal((await node.sessions.getSession(b.id)).id, b.id);
  });

  it('deleteAllSessionsByGroupId removes the group\'s sessions, including a session moved into it', async () => {
    const g1 = await node.sessions.createSession('grp-1', {}, { groupId: 'tenant-1' });
    const g2 = await node.sessions.createSession('grp-2', {}, { groupId: 'tenant-1' });
    const moved = await node.sessions.createSession('grp-3', {}, { groupId: 'tenant-2' });
    const other = await node.sessions.createSession('grp-4', {}, { groupId: 'tenant-2' });
    const m = await node.sessions.getSession(moved.id);
    m.groupId = 'tenant-1';
    await node.sessions.updateSession(m);
    await node.sessions.getSession(g1.id);
    await node.sessions.deleteAllSessionsByGroupId('tenant-1');
    for (const id of [g1.id, g2.id, moved.id]) await assert.rejects(node.sessions.getSession(id), SessionNotFoundError);
    assert.equal((await node.sessions.getSession(other.id)).groupId, 'tenant-2');
  });

  it('deleteAttributeFromAllUserSessions removes one key everywhere and bumps versions', async () => {
    const s1 = await node.sessions.createSession('attr-user', { elevated_access: { value: true }, keep: { value: 1 } });
    const s2 = await node.sessions.createSession('attr-user', { elevated_access: { value: true } });
    const other = await node.sessions.createSession('attr-other', { elevated_access: { value: true } });
    const cached = await node.sessions.getSession(s1.id);
    await node.sessions.deleteAttributeFromAllUserSessions('attr-user', 'elevated_access');
    const r1 = await node.sessions.getSession(s1.id);
    assert.equal(r1.hasAttribute('elevated_access'), false);
    assert.equal(r1.getAttribute('keep'), 1);
    assert.equal(r1.version, 2);
    assert.equal((await node.sessions.getSession(s2.id)).hasAttribute('elevated_access'), false);
    assert.equal((await node.sessions.getSession(other.id)).getAttribute('elevated_access'), true);
    // an optimistic writer holding the old copy now conflicts
    cached.setAttribute('keep', 2);
    await assert.rejects(node.sessions.updateSession(cached, { checkVersion: true }), { code: 'SESSION_CONFLICT' });
  });

  it('deleteAllSessions removes everything', async () => {
    const s = await node.sessions.createSession('all-1');
    await node.sessions.getSession(s.id);
    await node.sessions.deleteAllSessions();
    await assert.rejects(node.sessions.getSession(s.id), SessionNotFoundError);
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM sessions`);
    assert.equal(count, '0');
    assert.equal(node.sessions.stats().cacheSize, 0);
  });

  it('listUserSessions lists live sessions, most recently accessed first', async () => {
    const s1 = await node.sessions.createSession('list-user');
    const s2 = await node.sessions.createSession('list-user');
    const expired = await node.sessions.createSession('list-user', {}, { expiresAt: new Date(Date.now() - 1000) });
    await node.sessions.getSession(s1.id);
    const list = await node.sessions.listUserSessions('list-user');
    assert.deepEqual(list.map((i) => i.id), [s1.id, s2.id]);
    assert.ok(!list.some((i) => i.id === expired.id));
    assert.equal(list[0]!.userId, 'list-user');
    assert.ok(list[0]!.lastAccessed instanceof Date);
    assert.deepEqual(await node.sessions.listUserSessions('nobody'), []);
  });

  it('regenerateSession moves the data to a new id and deletes the old one atomically', async () => {
    const s = await node.sessions.createSession('regen-user', { cart: { value: ['a'] } }, { groupId: 'g' });
    const read = await node.sessions.getSession(s.id);
    read.setAttribute('elevated_access', true, { expiresAt: new Date(Date.now() + 60_000) });
    const fresh = await node.sessions.regenerateSession(read);
    assert.notEqual(fresh.id, s.id);
    assert.equal(read.isInvalidated, true);
    await assert.rejects(node.sessions.updateSession(read), SessionInvalidatedError);
    await assert.rejects(node.sessions.getSession(s.id), SessionNotFoundError);
    await assert.rejects(node.sessions.getSession(s.id, { forceRefresh: true }), SessionNotFoundError);
    for (const copy of [fresh, await node.sessions.getSession(fresh.id), await node.sessions.getSession(fresh.id, { forceRefresh: true })]) {
      assert.deepEqual(copy.getAttribute('cart'), ['a']);
      assert.equal(copy.getAttribute('elevated_access'), true, 'pending changes are saved as part of the regeneration');
      assert.equal(copy.groupId, 'g');
      assert.equal(copy.userId, 'regen-user');
    }
    const gone = await node.sessions.getSession(fresh.id);
    await node.sessions.deleteSession(fresh.id);
    await assert.rejects(node.sessions.regenerateSession(gone), SessionNotFoundError);
  });
});
