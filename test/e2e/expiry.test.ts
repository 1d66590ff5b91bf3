import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionNotFoundError } from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode, type TestNode } from '../support/nodes.js';
import { waitUntilPast } from '../support/wait.js';

describe('expiry of sessions and attributes', () => {
  let db: TestDatabase;
  let node: TestNode;
  const INACTIVITY = 400;
  // Expiries 1.5 s ahead: the steps that must happen before them (create, a cached read)
  // take longer than 300 ms on a loaded 2-core machine, which made these tests flaky.

  before(async () => {
    db = await createTestDatabase();
    node = await startNode(db.url, { inactivityDuration: INACTIVITY });
  });

  after(async () => {
    await node?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  it('an attribute is invisible after its expiresAt and deleted by cleanup; the session stays', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const s = await node.sessions.createSession('u1', { token: { value: 't', expiresAt }, keep: { value: 1 } }, { includeInactivity: false });
    assert.equal(s.getAttribute('token'), 't');
    assert.equal(s.getAttributeRecord('token')?.expiresAt?.getTime(), expiresAt.getTime());
    assert.equal((await node.sessions.getSession(s.id)).getAttribute('token'), 't');
    await waitUntilPast(expiresAt);
    const cached = await node.sessions.getSession(s.id);
    assert.equal(cached.fromCache, true);
    assert.equal(cached.getAttribute('token'), undefined);
    assert.equal(cached.hasAttribute('token'), false);
    assert.equal('token' in cached.getAttributes(), false);
    const fromDb = await node.sessions.getSession(s.id, { forceRefresh: true });
    assert.equal(fromDb.hasAttribute('token'), false);
    assert.equal(fromDb.getAttribute('keep'), 1);
    const [{ count: before }] = await db.query<{ count: string }>(`SELECT count(*) FROM session_attributes WHERE session_id = $1 AND key = 'token'`, [s.id]);
    assert.equal(before, '1', 'still stored before cleanup');
    await node.sessions.cleanupExpiredSessions();
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM session_attributes WHERE session_id = $1 AND key = 'token'`, [s.id]);
    assert.equal(count, '0');
    assert.equal((await node.sessions.getSession(s.id, { forceRefresh: true })).getAttribute('keep'), 1);
  });

  it('an attribute set with expiresAt on update expires the same way', async () => {
    const s = await node.sessions.createSession('u1b', {}, { includeInactivity: false });
    const expiresAt = new Date(Date.now() + 1500);
    s.setAttribute('elevated_access', true, { expiresAt });
    const updated = await node.sessions.updateSession(s);
    assert.equal(updated.getAttribute('elevated_access'), true);
    await waitUntilPast(expiresAt);
    assert.equal((await node.sessions.getSession(s.id)).getAttribute('elevated_access'), undefined);
    assert.equal((await node.sessions.getSession(s.id, { forceRefresh: true })).getAttribute('elevated_access'), undefined);
  });

  it('a session past expiresAt is not found, from the cache and from the database, before any cleanup', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const s = await node.sessions.createSession('u2', {}, { expiresAt, includeInactivity: false });
    assert.equal((await node.sessions.getSession(s.id)).fromCache, true);
    await waitUntilPast(expiresAt);
    await assert.rejects(node.sessions.getSession(s.id), SessionNotFoundError);
    await assert.rejects(node.sessions.getSession(s.id, { forceRefresh: true }), SessionNotFoundError);
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM sessions WHERE id = $1`, [s.id]);
    assert.equal(count, '1', 'no cleanup ran: the row is still there');
    s.setAttribute('x', 1);
    await assert.rejects(node.sessions.updateSession(s), SessionNotFoundError);
  });

  it('a session idle past inactivityDuration is not found (cache and database); includeInactivity: false exempts it', async () => {
    const idle = await node.sessions.createSession('u3');
    const exempt = await node.sessions.createSession('u3', {}, { includeInactivity: false });
    const idleSince = Math.max(idle.lastAccessed.getTime(), exempt.lastAccessed.getTime());
    await waitUntilPast(idleSince + INACTIVITY);
    await assert.rejects(node.sessions.getSession(idle.id), SessionNotFoundError);
    await assert.rejects(node.sessions.getSession(idle.id, { forceRefresh: true }), SessionNotFoundError);
    assert.equal((await node.sessions.getSession(exempt.id)).id, exempt.id);
    assert.equal((await node.sessions.getSession(exempt.id, { forceRefresh: true })).id, exempt.id);
  });

  it('limits longer than a coarse tick: a cached session is refused from the moment it expires or goes idle', async () => {
    // The hit path first compares whole ticks of about a second; these limits span
    // several, so reads before them take that path, and the reads right after them
    // must still be refused.
    const long = await startNode(db.url, { inactivityDuration: 2600 });
    try {
      const expiresAt = new Date(Date.now() + 2600);
      const expiring = await long.sessions.createSession('u9', {}, { expiresAt, includeInactivity: false });
      const idle = await long.sessions.createSession('u9');
      assert.equal((await long.sessions.getSession(expiring.id)).fromCache, true);
      const idleRead = await long.sessions.getSession(idle.id);
      assert.equal(idleRead.fromCache, true);
      await waitUntilPast(expiresAt);
      await assert.rejects(long.sessions.getSession(expiring.id), SessionNotFoundError);
      await waitUntilPast(idleRead.lastAccessed.getTime() + 2600);
      await assert.rejects(long.sessions.getSession(idle.id), SessionNotFoundError);
    } finally {
      await long.close();
    }
  });

  it('reads keep a session alive past inactivityDuration', async () => {
    const s = await node.sessions.createSession('u4');
    const deadline = s.lastAccessed.getTime() + 2 * INACTIVITY;
    let last = s.lastAccessed.getTime();
    while (Date.now() < deadline) {
      await waitUntilPast(last + INACTIVITY / 4);
      last = (await node.sessions.getSession(s.id)).lastAccessed.getTime();
    }
    assert.equal((await node.sessions.getSession(s.id)).id, s.id);
  });

  it('cleanup deletes expired and idle sessions and returns how many', async () => {
    await db.query(`DELETE FROM sessions`);
    const expiresAt = new Date(Date.now() + 200);
    await node.sessions.createSession('u5', {}, { expiresAt, includeInactivity: false });
    const idle = await node.sessions.createSession('u5');
    const live = await node.sessions.createSession('u6', {}, { includeInactivity: false });
    await waitUntilPast(Math.max(expiresAt.getTime(), idle.lastAccessed.getTime() + INACTIVITY));
    assert.equal(await node.sessions.cleanupExpiredSessions(), 2);
    const rows = await db.query<{ id: string }>(`SELECT id FROM sessions`);
    assert.deepEqual(rows.map((r) => r.id), [live.id]);
  });
});
