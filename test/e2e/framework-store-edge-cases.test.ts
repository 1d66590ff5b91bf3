/**
 * Edge cases of the framework stores found in review (issue 14): rolling expiry against the
 * renewed cookie, a cookie gaining a maxAge, all() and length() agreeing, and behaviour
 * found sound (overlapping requests, bad data and ids, destroy races, revocation).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type session from 'express-session';
import { ExpressSessionStore, frameworkRowId } from '../../lib/express-session.js';
import { useTestDatabase } from '../support/database.js';
import { startExpressStoreNode, type ExpressStoreNode } from '../support/framework-apps.js';
import { HttpClient } from '../support/http-client.js';

const db = useTestDatabase();

function sidOf(client: HttpClient): string {
  const raw = decodeURIComponent(client.jar.header()?.match(/connect\.sid=([^;]+)/)?.[1] ?? '');
  return raw.slice(2, raw.lastIndexOf('.'));
}

/** Calls `fn(cb)` and resolves with every callback invocation seen within two macrotask turns. */
async function calls(fn: (cb: (...args: unknown[]) => void) => void): Promise<unknown[][]> {
  const seen: unknown[][] = [];
  let done!: () => void;
  const first = new Promise<void>((resolve) => (done = resolve));
  fn((...args) => {
    seen.push(args);
    done();
  });
  await first;
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return seen;
}

const cookie = (ms: number | null) => ({
  originalMaxAge: ms,
  expires: ms === null ? null : new Date(Date.now() + ms).toISOString(),
  path: '/',
  httpOnly: true,
});

describe('ExpressSessionStore edge cases', () => {
  let a: ExpressStoreNode;
  let b: ExpressStoreNode;
  let store: ExpressSessionStore;

  before(async () => {
    a = await startExpressStoreNode(db.url, { session: { rolling: true } });
    b = await startExpressStoreNode(db.url, { session: { rolling: true } });
    store = a.store as ExpressSessionStore;
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  /** What one request does: get, wrap in express-session's Session (createSession). */
  async function load(sid: string): Promise<session.Session & Record<string, unknown>> {
    const data = await promisify(store.get.bind(store))(sid);
    assert.ok(data, `session ${sid} exists`);
    return store.createSession({ sessionID: sid, sessionStore: store } as never, data) as never;
  }
  const set = (sid: string, data: unknown) => promisify(store.set.bind(store))(sid, data as never);
  const get = (sid: string) => promisify(store.get.bind(store))(sid);

  it('rolling: a request at 40% of maxAge renews the cookie, and the row follows it to within the last-access interval', async () => {
    const client = new HttpClient(a.url);
    await client.get('/me'); // maxAge 1 h
    const rowId = frameworkRowId(sidOf(client));
    // As if the session was created 24 minutes ago: 36 minutes left (> half of 1 h: no move).
    await db.query(`UPDATE sessions SET expires_at = now() + interval '36 minutes' WHERE id = $1`, [rowId]);
    await a.sessions.clearEntireCache();
    const res = await client.get('/peek');
    const sent = res.setCookies.find((c) => c.name === 'connect.sid');
    assert.ok(sent, 'rolling: cookie sent');
    const cookieExpires = new Date(sent.attributes.get('expires') as string).getTime();
    const [row] = await db.query<{ expires_at: Date }>(`SELECT expires_at FROM sessions WHERE id = $1`, [rowId]);
    // The browser now holds a cookie valid ~60 min; the server forgets the session in ~36 min.
    assert.ok(row!.expires_at.getTime() >= cookieExpires - 60_000, `row expires ${row!.expires_at.toISOString()}, cookie ${new Date(cookieExpires).toISOString()}`);
  });

  it('a browser-session cookie that later gets a maxAge (remember me) is governed by it, not by the idle limit', async () => {
    const sid = `edge-remember-${Date.now()}`;
    await set(sid, { cookie: cookie(null), n: 1 });
    const s = await load(sid);
    (s.cookie as session.Cookie).maxAge = 30 * 24 * 3600 * 1000; // "remember me"
    await promisify(store.touch.bind(store))(sid, s as never); // express-session's hash ignores cookie: touch
    const [row] = await db.query<{ include_inactivity: boolean; expires_at: Date }>(`SELECT include_inactivity, expires_at FROM sessions WHERE id = $1`, [frameworkRowId(sid)]);
    assert.ok(row!.expires_at.getTime() > Date.now() + 29 * 24 * 3600 * 1000, 'expiry moved to the cookie');
    assert.equal(row!.include_inactivity, false, 'the cookie governs now');
  });

  it('overlapping requests: a key deleted by one and a key added by the other both stick; undefined value deletes', async () => {
    const sid = `edge-overlap-${Date.now()}`;
    await set(sid, { cookie: cookie(60_000), x: 1, u: 1, keep: 1 });
    const r1 = await load(sid);
    const r2 = await load(sid);
    delete r1.x;
    r1.u = undefined;
    r2.y = 2;
    r2.fn = () => 1; // JSON drops it: not stored, not an error
    await set(sid, r1);
    await set(sid, r2);
    const data = (await promisify(b.store.get.bind(b.store))(sid)) as unknown as Record<string, unknown>;
    assert.equal('x' in data, false);
    assert.equal('u' in data, false);
    assert.equal(data.y, 2);
    assert.equal(data.keep, 1);
    assert.equal('fn' in data, false);
  });

  it('non-JSON data (BigInt, cycle): one callback with a TypeError, nothing stored', async () => {
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    for (const bad of [{ big: 1n }, { cyc }]) {
      const sid = `edge-bad-${Date.now()}-${Math.random()}`;
      const seen = await calls((cb) => store.set(sid, { cookie: cookie(60_000), ...bad } as never, cb));
      assert.equal(seen.length, 1);
      assert.ok(seen[0]![0] instanceof TypeError);
      assert.equal(await get(sid), null);
    }
  });

  it('hostile sids: non-strings get one TypeError callback; long / NUL sids hash and round-trip', async () => {
    for (const sid of [undefined, null, 123, {}, '']) {
      for (const op of ['get', 'destroy', 'set', 'touch'] as const) {
        const seen = await calls((cb) =>
          op === 'get' || op === 'destroy' ? (store[op] as (s: unknown, c: unknown) => void)(sid, cb) : (store[op] as (s: unknown, d: unknown, c: unknown) => void)(sid, { cookie: cookie(60_000) }, cb),
        );
        assert.equal(seen.length, 1, `${op}(${String(sid)}) called back once`);
        if (op !== 'destroy' || sid !== '') assert.ok(seen[0]![0] instanceof TypeError, `${op}(${String(sid)}) → TypeError`);
      }
    }
    for (const sid of ['x'.repeat(1_000_000), 'a\u0000b', '\ud800', 'ü'.repeat(10)]) {
      await set(sid, { cookie: cookie(60_000), n: sid.length });
      assert.equal(((await get(sid)) as unknown as { n: number }).n, sid.length);
    }
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM session_attributes WHERE value LIKE '%xxxxxxxxxx%'`);
    assert.equal(rows[0]!.n, 0);
  });

  it('destroy racing a request: its later set / touch does not bring the session back', async () => {
    const sid = `edge-destroy-${Date.now()}`;
    await set(sid, { cookie: cookie(60_000), n: 1 });
    const r1 = await load(sid);
    const r2 = await load(sid);
    await promisify(b.store.destroy.bind(b.store))(sid);
    r1.n = 2;
    await set(sid, r1);
    await promisify(store.touch.bind(store))(sid, r2 as never);
    assert.equal(await get(sid), null);
    assert.equal(await promisify(b.store.get.bind(b.store))(sid), null);
  });

  it('revoke by listUserSessions id on node B: node A answers anonymous', async () => {
    const client = new HttpClient(a.url);
    await client.post('/login', { username: 'bob', password: 'secret' });
    assert.equal((await client.get('/me')).body.user, 'u-bob');
    const [listed] = await b.sessions.listUserSessions('u-bob');
    await b.sessions.deleteSession(listed!.id);
    // A may not have heard yet: its cache is dropped on notification; retry until it has.
    const { waitFor } = await import('../support/wait.js');
    await waitFor(async () => (await client.get('/peek')).body.user === null, 'A answers anonymous');
  });

  it('userIdOf returning an object or NaN: a TypeError to the callback, no write', async () => {
    const { ExpressSessionStore: S } = await import('../../lib/express-session.js');
    for (const weird of [{}, Number.NaN, true, 'x'.repeat(10_000)]) {
      const s = new S(a.sessions, { userIdOf: () => weird as never });
      const sid = `edge-uid-${Date.now()}-${Math.random()}`;
      const seen = await calls((cb) => s.set(sid, { cookie: cookie(60_000) } as never, cb));
      assert.equal(seen.length, 1);
      assert.ok(seen[0]![0] instanceof TypeError);
    }
  });

  it('cookie expires in the past on set: the session is gone', async () => {
    const sid = `edge-past-${Date.now()}`;
    await set(sid, { cookie: cookie(60_000), n: 1 });
    const r = await load(sid);
    (r.cookie as session.Cookie).expires = new Date(Date.now() - 1000);
    r.n = 2;
    await set(sid, r);
    assert.equal(await get(sid), null);
  });

  it('length and all() agree, also for a session without attributes', async () => {
    await promisify(store.clear.bind(store))();
    await set(`edge-empty-${Date.now()}`, {});
    const length = await promisify(store.length.bind(store))();
    const all = (await promisify(store.all.bind(store))()) as unknown[];
    assert.equal(all.length, length);
  });
});
