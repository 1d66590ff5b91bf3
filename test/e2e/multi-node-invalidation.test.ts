import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionNotFoundError, type SessionChange } from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextChange, startNode, type TestNode } from '../support/nodes.js';
import { waitUntilPast } from '../support/wait.js';

describe('multi-node invalidation over LISTEN/NOTIFY', () => {
  let db: TestDatabase;
  let a: TestNode;
  let b: TestNode;

  before(async () => {
    db = await createTestDatabase();
    a = await startNode(db.url, { maxSessions: 3 });
    b = await startNode(db.url, { maxSessions: 3 });
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  /** B reads (and caches) each id and confirms the next read is a cache hit. */
  async function cacheOnB(...ids: string[]): Promise<void> {
    for (const id of ids) {
      await b.sessions.getSession(id);
      assert.equal((await b.sessions.getSession(id)).fromCache, true);
    }
  }

  /**
   * Makes A commit a notified write and waits until B heard it. Notifications arrive in
   * commit order, so every earlier notification has been applied on B afterwards.
   */
  async function barrier(): Promise<void> {
    const marker = await a.sessions.createSession('barrier-user');
    const heard = nextChange(b, (c) => c.type === 'user' && c.ids.includes('barrier-user'));
    await a.sessions.deleteAllUserSessions('barrier-user');
    await heard;
    void marker;
  }

  it('update on A → after B hears it, B reads the new value; B never serves the old one again', async () => {
    const s = await a.sessions.createSession('u-update', { v: { value: 1 } });
    await cacheOnB(s.id);
    const heard = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    const read = await a.sessions.getSession(s.id);
    read.setAttribute('v', 2);
    await a.sessions.updateSession(read);
    const change = await heard;
    assert.deepEqual(change, { type: 'sessions', ids: [s.id] });
    for (let i = 0; i < 3; i++) {
      const seen = await b.sessions.getSession(s.id);
      assert.equal(seen.getAttribute('v'), 2);
      assert.equal(seen.version, 2);
    }
    assert.ok(b.sessions.stats().notificationsReceived > 0);
    assert.equal(b.sessions.stats().listening, true);
  });

  it("A's own notification does not evict A's fresh entry", async () => {
    const s = await a.sessions.createSession('u-own', { v: { value: 1 } });
    const read = await a.sessions.getSession(s.id);
    read.setAttribute('v', 2);
    await a.sessions.updateSession(read);
    await barrier();
    const again = await a.sessions.getSession(s.id);
    assert.equal(again.fromCache, true);
    assert.equal(again.version, 2);
  });

  it('notify: false leaves B\'s copy until forceRefresh', async () => {
    const s = await a.sessions.createSession('u-quiet', { v: { value: 1 } });
    await cacheOnB(s.id);
    const read = await a.sessions.getSession(s.id);
    read.setAttribute('v', 2);
    await a.sessions.updateSession(read, { notify: false });
    await barrier();
    const stale = await b.sessions.getSession(s.id);
    assert.equal(stale.fromCache, true);
    assert.equal(stale.getAttribute('v'), 1);
    assert.equal((await b.sessions.getSession(s.id, { forceRefresh: true })).getAttribute('v'), 2);
    assert.equal((await b.sessions.getSession(s.id)).getAttribute('v'), 2, 'the refreshed copy replaced the cached one');
  });

  const deletions: Array<[string, (ids: { s: string; user: string; group: string }) => Promise<unknown>, (c: SessionChange) => boolean]> = [
    ['deleteSession', ({ s }) => a.sessions.deleteSession(s), (c) => c.type === 'sessions'],
    ['deleteAllUserSessions', ({ user }) => a.sessions.deleteAllUserSessions(user), (c) => c.type === 'user'],
    ['deleteAllSessionsByGroupId', ({ group }) => a.sessions.deleteAllSessionsByGroupId(group), (c) => c.type === 'group'],
    ['deleteAllSessions', () => a.sessions.deleteAllSessions(), (c) => c.type === 'all'],
  ];
  for (const [name, run, matches] of deletions) {
    it(`${name} on A → B no longer authenticates the session`, async () => {
      const user = `u-${name}`;
      const group = `g-${name}`;
      const s = await a.sessions.createSession(user, {}, { groupId: group });
      await cacheOnB(s.id);
      const heard = nextChange(b, matches);
      await run({ s: s.id, user, group });
      await heard;
      await assert.rejects(b.sessions.getSession(s.id), SessionNotFoundError);
    });
  }

  it('deleteAttributeFromAllUserSessions on A → B reads the session without it', async () => {
    const s = await a.sessions.createSession('u-attr', { elevated_access: { value: true }, keep: { value: 1 } });
    await cacheOnB(s.id);
    const heard = nextChange(b, (c) => c.type === 'user' && c.ids.includes('u-attr'));
    await a.sessions.deleteAttributeFromAllUserSessions('u-attr', 'elevated_access');
    await heard;
    const seen = await b.sessions.getSession(s.id);
    assert.equal(seen.hasAttribute('elevated_access'), false);
    assert.equal(seen.getAttribute('keep'), 1);
  });

  it('regenerateSession on A → the old id is gone on B, the new one readable', async () => {
    const s = await a.sessions.createSession('u-regen', { v: { value: 'x' } });
    await cacheOnB(s.id);
    const heard = nextChange(b, (c) => c.ids.includes(s.id));
    const fresh = await a.sessions.regenerateSession(await a.sessions.getSession(s.id));
    await heard;
    await assert.rejects(b.sessions.getSession(s.id), SessionNotFoundError);
    assert.equal((await b.sessions.getSession(fresh.id)).getAttribute('v'), 'x');
  });

  it('cleanup on A → expired sessions are dropped from B', async () => {
    const expiresAt = new Date(Date.now() + 300);
    const s = await a.sessions.createSession('u-cleanup', {}, { expiresAt, includeInactivity: false });
    await cacheOnB(s.id);
    await waitUntilPast(expiresAt);
    const heard = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    assert.ok((await a.sessions.cleanupExpiredSessions()) >= 1);
    await heard;
    assert.equal(b.app.get(SessionCacheToken).peek(s.id), undefined);
  });

  it('maxSessions eviction on A → the evicted session is dropped from B', async () => {
    const first = await a.sessions.createSession('u-max');
    await a.sessions.createSession('u-max');
    await a.sessions.createSession('u-max');
    await cacheOnB(first.id);
    const heard = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(first.id));
    await a.sessions.createSession('u-max');
    await heard;
    await assert.rejects(b.sessions.getSession(first.id), SessionNotFoundError);
  });

  it('clearEntireCache and removeAllUserCachedSessionsFromAllNodes drop B\'s copies (data untouched)', async () => {
    const s1 = await a.sessions.createSession('u-cache-1');
    const s2 = await a.sessions.createSession('u-cache-2');
    await cacheOnB(s1.id, s2.id);
    const userHeard = nextChange(b, (c) => c.type === 'user' && c.ids.includes('u-cache-1'));
    await a.sessions.removeAllUserCachedSessionsFromAllNodes('u-cache-1');
    await userHeard;
    assert.equal((await b.sessions.getSession(s1.id)).fromCache, false);
    assert.equal((await b.sessions.getSession(s2.id)).fromCache, true);
    const allHeard = nextChange(b, (c) => c.type === 'all');
    await a.sessions.clearEntireCache();
    await allHeard;
    assert.equal(b.sessions.stats().cacheSize, 0);
    assert.equal((await b.sessions.getSession(s2.id)).fromCache, false, 'data is still there, read from the database');
    assert.equal((await a.sessions.getSession(s2.id)).fromCache, false, 'A dropped its own copies too');
  });

  it('deleteAllSessions with 2,000 sessions cached on B: all gone on B', async () => {
    const ids: string[] = [];
    const big = await startNode(db.url, { cacheSize: 5000, maxSessions: 10 });
    try {
      for (let i = 0; i < 200; i++) {
        const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => a.sessions.createSession(`bulk-${i}-${j}`)));
        ids.push(...batch.map((s) => s.id));
      }
      for (const id of ids) await big.sessions.getSession(id);
      assert.equal(big.sessions.stats().cacheSize, 2000);
      const heard = nextChange(big, (c) => c.type === 'all');
      await a.sessions.deleteAllSessions();
      await heard;
      assert.equal(big.sessions.stats().cacheSize, 0);
      for (const id of ids.slice(0, 50)) await assert.rejects(big.sessions.getSession(id), SessionNotFoundError);
    } finally {
      await big.close();
    }
  });

  it('a bulk eviction of 500 cached sessions (notifications far over 8000 bytes) reaches B', async () => {
    const big = await startNode(db.url, { cacheSize: 5000, maxSessions: 10 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) {
        const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => a.sessions.createSession(`exp-${i}-${j}`)));
        ids.push(...batch.map((s) => s.id));
      }
      for (const id of ids) await big.sessions.getSession(id);
      // Expire them in the database only: B's cached copies still look valid, so only
      // the notifications can make B drop them.
      await db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id LIKE 'exp-%'`);
      const heard = new Set<string>();
      const sub = big.app.get(SessionNotificationsToken).changes$.subscribe((c) => c.ids.forEach((id) => heard.add(id)));
      try {
        assert.equal(await a.sessions.cleanupExpiredSessions(), 500);
        const { waitFor } = await import('../support/wait.js');
        await waitFor(() => ids.every((id) => heard.has(id)), 'B to hear all 500 ids');
      } finally {
        sub.unsubscribe();
      }
      assert.equal(big.sessions.stats().cacheSize, 0);
    } finally {
      await big.close();
    }
  });

  it('two deployments (other prefix, other schema) on one database do not invalidate each other', async () => {
    const other = await startNode(db.url, { tablePrefix: 'other_' });
    const otherSchema = await startNode(db.url, { schemaName: 'elsewhere' });
    try {
      const mine = await a.sessions.createSession('u-iso');
      await cacheOnB(mine.id);
      const theirs = await other.sessions.createSession('u-iso');
      await other.sessions.getSession(theirs.id);
      const before = b.sessions.stats().notificationsReceived;
      const otherBefore = other.sessions.stats().notificationsReceived;
      await other.sessions.deleteAllSessions();
      await otherSchema.sessions.deleteAllSessions();
      await other.sessions.clearEntireCache();
      await barrier();
      assert.equal(b.sessions.stats().notificationsReceived, before + 1, 'only the barrier reached B');
      assert.equal((await b.sessions.getSession(mine.id)).fromCache, true);
      assert.equal(other.sessions.stats().notificationsReceived, otherBefore, 'nothing of ours reached the other deployment');
    } finally {
      await other.close();
      await otherSchema.close();
    }
  });

  it('maxSessionLifetimeInCache re-reads an old entry, and the re-read starts a new lifetime', async () => {
    const short = await startNode(db.url, { maxSessionLifetimeInCache: 200 });
    try {
      const s = await a.sessions.createSession('u-lifetime');
      await short.sessions.getSession(s.id);
      const cachedAt = Date.now();
      assert.equal((await short.sessions.getSession(s.id)).fromCache, true);
      await waitUntilPast(cachedAt + 200);
      assert.equal((await short.sessions.getSession(s.id)).fromCache, false);
      assert.equal((await short.sessions.getSession(s.id)).fromCache, true, 'the unchanged session is cached again');
    } finally {
      await short.close();
    }
  });
});

import { SessionCache as SessionCacheToken } from '../../lib/cache/session.cache.js';
import { SessionNotifications as SessionNotificationsToken } from '../../lib/index.js';
