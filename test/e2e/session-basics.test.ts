import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AttributeTooLargeError,
  InvalidSessionIdError,
  SessionInvalidatedError,
  SessionNotFoundError,
  type Session,
} from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode, type TestNode } from '../support/nodes.js';

describe('session basics (one node)', () => {
  let db: TestDatabase;
  let node: TestNode;

  before(async () => {
    db = await createTestDatabase();
    node = await startNode(db.url, { maxAttributeLength: 64 });
  });

  after(async () => {
    await node?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  it('round-trips every attribute with its type; second read is cached; forceRefresh is not', async () => {
    const values = {
      str: 'hello',
      numericString: '42',
      num: 42,
      float: 1.5,
      bool: false,
      nil: null,
      arr: [1, 'two', { three: 3 }],
      obj: { nested: { deep: ['x'] }, n: 0 },
    };
    const created = await node.sessions.createSession('user-1', Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])));
    assert.equal(created.version, 1);
    assert.equal(created.includeInactivity, true);
    const fromDb = await node.sessions.getSession(created.id, { forceRefresh: true });
    assert.equal(fromDb.fromCache, false);
    const cached = await node.sessions.getSession(created.id);
    assert.equal(cached.fromCache, true);
    for (const session of [created, fromDb, cached]) {
      for (const [key, value] of Object.entries(values)) {
        assert.deepStrictEqual(session.getAttribute(key), value, `attribute ${key}`);
        assert.equal(session.getAttributeRecord(key)?.version, 1);
      }
    }
    assert.equal(typeof cached.getAttribute('numericString'), 'string');
    assert.equal(typeof cached.getAttribute('num'), 'number');
    const again = await node.sessions.getSession(created.id, { forceRefresh: true });
    assert.equal(again.fromCache, false);
  });

  it('a Date value reads back as its ISO string, from the cache and the database alike', async () => {
    const when = new Date('2030-01-02T03:04:05.678Z');
    const s = await node.sessions.createSession('user-date', { when: { value: when } });
    assert.equal(s.getAttribute('when'), when.toISOString());
    assert.equal((await node.sessions.getSession(s.id)).getAttribute('when'), when.toISOString());
    assert.equal((await node.sessions.getSession(s.id, { forceRefresh: true })).getAttribute('when'), when.toISOString());
  });

  it('mutating a returned session or a nested value never leaks into the cache', async () => {
    const s = await node.sessions.createSession('user-2', { cart: { value: ['a'] }, profile: { value: { name: 'Ann' } } });
    const first = await node.sessions.getSession(s.id);
    assert.equal(first.fromCache, true);
    first.getAttribute<string[]>('cart')!.push('b');
    first.getAttribute<{ name: string }>('profile')!.name = 'Mallory';
    first.setAttribute('cart', ['z']);
    first.deleteAttribute('profile');
    first.groupId = 'g-x';
    const fresh = await node.sessions.getSession(s.id);
    assert.equal(fresh.fromCache, true);
    assert.deepEqual(fresh.getAttribute('cart'), ['a']);
    assert.deepEqual(fresh.getAttribute('profile'), { name: 'Ann' });
    assert.equal(fresh.groupId, null);
    assert.equal(fresh.isModified, false);
    // the parsed value is kept per session object
    assert.equal(fresh.getAttribute('cart'), fresh.getAttribute('cart'));
  });

  it('update bumps the session version by one and the written attributes; the input is unchanged', async () => {
    const s = await node.sessions.createSession('user-3', { a: { value: 1 }, b: { value: 'x' } });
    const read = await node.sessions.getSession(s.id);
    read.setAttribute('a', 2);
    read.setAttribute('c', true);
    assert.equal(read.isModified, true);
    const updated = await node.sessions.updateSession(read);
    assert.equal(updated.version, 2);
    assert.equal(updated.getAttributeRecord('a')?.version, 2);
    assert.equal(updated.getAttributeRecord('b')?.version, 1);
    // A new attribute gets the session's new version: one it cannot have had before (no ABA).
    assert.equal(updated.getAttributeRecord('c')?.version, 2);
    assert.equal(updated.isModified, false);
    // input untouched
    assert.equal(read.version, 1);
    assert.equal(read.isModified, true);
    // the writing node caches the new state
    const next = await node.sessions.getSession(s.id);
    assert.equal(next.fromCache, true);
    assert.equal(next.version, 2);
    assert.equal(next.getAttribute('a'), 2);
    const db2 = await node.sessions.getSession(s.id, { forceRefresh: true });
    assert.deepEqual(Object.fromEntries(Object.entries(db2.getAttributes()).map(([k, r]) => [k, r.value])), { a: 2, b: 'x', c: true });

    const del = await node.sessions.getSession(s.id);
    del.deleteAttribute('b');
    del.groupId = 'group-1';
    const afterDelete = await node.sessions.updateSession(del);
    assert.equal(afterDelete.version, 3);
    assert.equal(afterDelete.hasAttribute('b'), false);
    assert.equal(afterDelete.groupId, 'group-1');
    const reread = await node.sessions.getSession(s.id, { forceRefresh: true });
    assert.equal(reread.hasAttribute('b'), false);
    assert.equal(reread.groupId, 'group-1');
  });

  it('updateSession can move expiresAt and switch off inactivity', async () => {
    const s = await node.sessions.createSession('user-exp');
    const later = new Date(Date.now() + 3_600_000);
    const updated = await node.sessions.updateSession(s, { expiresAt: later, includeInactivity: false });
    assert.equal(updated.expiresAt.getTime(), later.getTime());
    assert.equal(updated.includeInactivity, false);
    const reread = await node.sessions.getSession(s.id, { forceRefresh: true });
    assert.equal(reread.expiresAt.getTime(), later.getTime());
    assert.equal(reread.includeInactivity, false);
  });

  it('minVersion reads the database when the cached copy is older', async () => {
    const s = await node.sessions.createSession('user-minv');
    const cached = await node.sessions.getSession(s.id, { minVersion: 1 });
    assert.equal(cached.fromCache, true);
    const forced = await node.sessions.getSession(s.id, { minVersion: 2 });
    assert.equal(forced.fromCache, false);
  });

  it('invalidate() makes updateSession throw SessionInvalidatedError', async () => {
    const s = await node.sessions.createSession('user-4');
    s.setAttribute('x', 1);
    s.invalidate();
    assert.equal(s.isInvalidated, true);
    await assert.rejects(node.sessions.updateSession(s), SessionInvalidatedError);
    const reread = await node.sessions.getSession(s.id, { forceRefresh: true });
    assert.equal(reread.hasAttribute('x'), false);
  });

  it('updating a deleted session throws SessionNotFoundError', async () => {
    const s = await node.sessions.createSession('user-5');
    await node.sessions.deleteSession(s.id);
    s.setAttribute('x', 1);
    await assert.rejects(node.sessions.updateSession(s), SessionNotFoundError);
  });

  it('rejects a non-UUID id without a query, and unknown ids as not found', async () => {
    for (const bad of ['', 'abc', '123e4567-e89b-12d3-a456-42661417400', '123e4567-e89b-12d3-a456-4266141740000', 'zzzzzzzz-e89b-12d3-a456-426614174000', "'; drop table x; --", 42 as unknown as string]) {
      const err = await node.sessions.getSession(bad).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof InvalidSessionIdError, `expected InvalidSessionIdError for ${String(bad)}`);
      assert.equal(err.code, 'INVALID_SESSION_ID');
    }
    await assert.rejects(node.sessions.deleteSession('nope'), InvalidSessionIdError);
    const missing = await node.sessions.getSession('00000000-0000-4000-8000-000000000000').then(() => null, (e: unknown) => e);
    assert.ok(missing instanceof SessionNotFoundError);
    assert.equal(missing.code, 'SESSION_NOT_FOUND');
    // upper-case ids are the same session
    const s = await node.sessions.createSession('user-upper');
    assert.equal((await node.sessions.getSession(s.id.toUpperCase())).id, s.id);
  });

  it('enforces maxAttributeLength on the JSON form (exactly the limit passes), at create and on set', async () => {
    const exact = 'x'.repeat(62); // JSON adds two quotes: 64 bytes
    const s = await node.sessions.createSession('user-6', { ok: { value: exact } });
    assert.equal(s.getAttribute('ok'), exact);
    const tooBig = 'x'.repeat(63);
    const err = await node.sessions.createSession('user-6', { big: { value: tooBig } }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof AttributeTooLargeError);
    assert.equal(err.code, 'ATTRIBUTE_TOO_LARGE');
    assert.equal(err.key, 'big');
    assert.equal(err.size, 65);
    assert.equal(err.limit, 64);
    // multi-byte characters count as bytes
    assert.throws(() => s.setAttribute('emoji', '€'.repeat(21)), AttributeTooLargeError);
    assert.throws(() => s.setAttribute('big', tooBig), AttributeTooLargeError);
    assert.equal(s.isModified, false, 'a rejected set changes nothing');
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM sessions WHERE user_id = 'user-6'`);
    assert.equal(count, '1', 'the failed create wrote nothing');
  });

  it('rejects values JSON cannot round-trip with TypeError, changing nothing', async () => {
    const s: Session = await node.sessions.createSession('user-7');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [() => 1, Symbol('s'), undefined, 10n, cyclic, NaN, Infinity, new Map(), [undefined], { f: () => 1 }]) {
      assert.throws(() => s.setAttribute('k', bad), TypeError, `value ${String(typeof bad)}`);
    }
    assert.throws(() => s.setAttribute('', 1), TypeError);
    assert.throws(() => s.setAttribute('k'.repeat(256), 1), TypeError);
    assert.throws(() => s.setAttribute('k', 1, { expiresAt: new Date('nope') }), TypeError);
    assert.equal(s.isModified, false);
    await assert.rejects(node.sessions.createSession('user-7', { f: { value: () => 1 } }), TypeError);
    await assert.rejects(node.sessions.createSession(''), TypeError);
    await assert.rejects(node.sessions.createSession('u'.repeat(256)), TypeError);
    await assert.rejects(node.sessions.createSession('user-7', {}, { groupId: '' }), TypeError);
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM sessions WHERE user_id = 'user-7'`);
    assert.equal(count, '1');
  });

  it('accepts user ids of any shape up to 255 characters', async () => {
    for (const userId of ['auth0|5f7c8ec7c33c6c004bbafe82', '12345', 'u'.repeat(255), "o'brien\"; --"]) {
      const s = await node.sessions.createSession(userId);
      assert.equal((await node.sessions.getSession(s.id, { forceRefresh: true })).userId, userId);
    }
  });
});
