import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import pg from 'pg';
import { SessionNotifications } from '../../lib/index.js';
import { ExpressSessionStore, FRAMEWORK_STORE_GROUP_ID, frameworkRowId } from '../../lib/express-session.js';
import { useTestDatabase } from '../support/database.js';
import { startExpressStoreNode, type ExpressStoreNode } from '../support/framework-apps.js';
import { frameworkStoreScenarios } from '../support/framework-store-scenarios.js';
import { heardChange } from '../support/http-apps.js';
import { HttpClient } from '../support/http-client.js';
import { countStatements, countUndisturbed } from '../support/pool-statements.js';
import { waitUntilPast } from '../support/wait.js';

const db = useTestDatabase();

/** The session id express-session put in the signed cookie `connect.sid` (s:<sid>.<sig>). */
function sidOf(client: HttpClient): string {
  const raw = decodeURIComponent(client.jar.header()?.match(/connect\.sid=([^;]+)/)?.[1] ?? '');
  return raw.slice(2, raw.lastIndexOf('.'));
}

describe('ExpressSessionStore with express-session and Passport, two nodes', () => {
  let a: ExpressStoreNode;
  let b: ExpressStoreNode;

  before(async () => {
    a = await startExpressStoreNode(db.url, { module: { maxSessions: 2 } });
    b = await startExpressStoreNode(db.url, { module: { maxSessions: 2 } });
  });

  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('login through AuthGuard("local"): req.user on later requests on both nodes; logout', async () => {
    const client = new HttpClient(a.url);
    const anonymous = await client.get('/me');
    assert.equal(anonymous.body.user, null);
    const before = sidOf(client);
    assert.ok(before.length > 0, 'saveUninitialized: an anonymous session has a cookie');

    assert.equal((await client.post('/login', { username: 'alice', password: 'wrong' })).status, 401);
    const login = await client.post('/login', { username: 'alice', password: 'secret' });
    assert.equal(login.status, 201);
    assert.equal(login.body.user, 'u-alice');
    const sid = sidOf(client);
    assert.notEqual(sid, before, 'Passport regenerated the session id at login');

    assert.equal((await client.get('/me')).body.user, 'u-alice');
    assert.equal((await client.on(b.url).get('/me')).body.user, 'u-alice');

    // The row is the user's, under the hash of the sid; the cookie's id is nowhere in the table.
    const listed = await a.sessions.listUserSessions('u-alice');
    assert.deepEqual(listed.map((s) => s.id), [frameworkRowId(sid)]);
    assert.equal(listed[0]!.groupId, FRAMEWORK_STORE_GROUP_ID);
    const raw = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sessions s LEFT JOIN session_attributes a ON a.session_id = s.id WHERE s.id::text = $1 OR a.value LIKE $2`,
      [sid, `%${sid}%`],
    );
    assert.equal(raw[0]!.n, 0);

    // The anonymous session before login belonged to nobody and was destroyed by the regeneration.
    assert.equal((await db.query(`SELECT 1 FROM sessions WHERE id = $1`, [frameworkRowId(before)])).length, 0);

    assert.equal((await client.on(b.url).post('/logout')).status, 201);
    assert.equal((await client.get('/me')).body.user, null);
    assert.equal((await client.on(b.url).get('/me')).body.user, null);
    assert.deepEqual(await a.sessions.listUserSessions('u-alice'), [], 'logout regenerated: the old session is gone');
  });

  it('anonymous sessions belong to nobody and count toward no maxSessions', async () => {
    const clients = [new HttpClient(a.url), new HttpClient(a.url), new HttpClient(b.url)];
    for (const c of clients) await c.get('/me');
    for (const c of clients) {
      const rows = await db.query<{ user_id: string }>(`SELECT user_id FROM sessions WHERE id = $1`, [frameworkRowId(sidOf(c))]);
      assert.deepEqual(rows, [{ user_id: '' }]);
    }
    for (const c of clients) assert.equal((await c.get('/me')).body.user, null);
  });

  it('an app that sets the user without regenerating: the session becomes the user\'s, atomically', async () => {
    const client = new HttpClient(a.url);
    await client.get('/me');
    const rowId = frameworkRowId(sidOf(client));
    const store = a.store;
    const data = await promisify(store.get.bind(store))(sidOf(client));
    assert.ok(data);
    (data as unknown as { passport: unknown }).passport = { user: 'u-carol' };
    await promisify(store.set.bind(store))(sidOf(client), data);
    assert.deepEqual((await b.sessions.listUserSessions('u-carol')).map((s) => s.id), [rowId]);
    await b.sessions.deleteAllUserSessions('u-carol');
  });

  it('revoke-all on node B: node A answers as anonymous as soon as it heard it', async () => {
    const client = new HttpClient(a.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    assert.equal((await client.get('/me')).body.user, 'u-alice');
    assert.equal((await client.get('/me')).body.user, 'u-alice'); // served from A's cache now
    const heard = heardChange(a.app, SessionNotifications, (c) => c.type === 'user' && c.ids.includes('u-alice'));
    await b.sessions.deleteAllUserSessions('u-alice');
    await heard;
    const after = await client.get('/me');
    assert.equal(after.body.user, null);
    assert.notEqual(after.body.sid, undefined);
  });

  // maxSessions, 20 concurrent writers, an expired cookie, destroy: the same for every framework store.
  frameworkStoreScenarios({ db, nodes: () => [a, b], sidOf, readRoute: '/me', passportOf: (user) => ({ user }) });

  it('length, all and clear cover the framework sessions of this deployment, on both nodes', async () => {
    const service = await a.sessions.createSession('not-framework', { x: { value: 1 } });
    const clients = [new HttpClient(a.url), new HttpClient(b.url)];
    for (const c of clients) await c.get('/me');
    const lengthA = await promisify(a.store.length!.bind(a.store))();
    const lengthB = await promisify(b.store.length!.bind(b.store))();
    assert.equal(lengthA, lengthB);
    const countRows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE group_id = $1 AND expires_at > now()`, [FRAMEWORK_STORE_GROUP_ID]);
    assert.equal(lengthA, countRows[0]!.n);
    assert.ok(lengthA >= 2);
    const all = (await promisify(b.store.all!.bind(b.store))()) as unknown as Array<Record<string, unknown>>;
    assert.ok(Array.isArray(all));
    assert.equal(all.length, lengthA);
    for (const data of all) assert.equal(typeof data.cookie, 'object');
    assert.ok(!all.some((data) => 'x' in data), 'sessions made through SessionService are not listed');

    await clients[0]!.get('/me'); // cached on A
    const heard = heardChange(a.app, SessionNotifications, (c) => c.type === 'group' && c.ids.includes(FRAMEWORK_STORE_GROUP_ID));
    await promisify(b.store.clear!.bind(b.store))();
    await heard;
    assert.equal(await promisify(a.store.length!.bind(a.store))(), 0);
    const sid = sidOf(clients[0]!);
    assert.notEqual((await clients[0]!.get('/peek')).body.sid, sid);
    assert.equal((await a.sessions.getSession(service.id)).getAttribute('x'), 1, 'other sessions untouched');
  });

  it('set under the id of an expired session not yet cleaned up: the new data replaces it', { timeout: 20_000 }, async () => {
    const sid = `expired-${Date.now()}`;
    const cookie = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), path: '/', httpOnly: true });
    const set = promisify(a.store.set.bind(a.store)) as (sid: string, data: unknown) => Promise<void>;
    await set(sid, { cookie: cookie(300), n: 1 });
    const [row] = await db.query<{ expires_at: Date }>(`SELECT expires_at FROM sessions WHERE id = $1`, [frameworkRowId(sid)]);
    await waitUntilPast(row!.expires_at);
    assert.equal(await promisify(a.store.get.bind(a.store))(sid), null);
    await set(sid, { cookie: cookie(60_000), n: 2 });
    const data = (await promisify(b.store.get.bind(b.store))(sid)) as unknown as { n: number };
    assert.equal(data.n, 2);
  });

  it('store errors go to the callback', async () => {
    const err = await new Promise<unknown>((resolve) => a.store.set('', { cookie: {} } as never, resolve));
    assert.ok(err instanceof TypeError);
    const err2 = await new Promise<unknown>((resolve) => a.store.set('sid', null as never, resolve));
    assert.ok(err2 instanceof TypeError);
  });
});

describe('the same race with connect-pg-simple loses keys', () => {
  let node: ExpressStoreNode;
  let pool: pg.Pool;

  before(async () => {
    pool = new pg.Pool({ connectionString: db.url, max: 10 });
    const PgStore = connectPgSimple(session);
    node = await startExpressStoreNode(db.url, { store: () => new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false }) as session.Store });
  });

  after(async () => {
    await node?.close();
    await pool?.end();
  });

  it('20 concurrent requests, each setting a different key: whole-blob writes overwrite each other', async () => {
    const client = new HttpClient(node.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    node.barrier.waiting = 0;
    node.barrier.target = 20;
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((k) => client.post(`/keys/${k}`)));
      const data = (await client.get('/data')).body as Record<string, unknown>;
      const kept = keys.filter((k) => data[k] !== undefined);
      assert.ok(kept.length < 20, `connect-pg-simple kept ${kept.length} of 20 keys`);
    } finally {
      node.barrier.target = 0;
    }
  });
});

describe('touch and rolling expiry cost no statement until the batched flush', () => {
  let node: ExpressStoreNode;

  before(async () => {
    node = await startExpressStoreNode(db.url, { session: { rolling: true } });
  });

  after(async () => {
    await node?.close();
  });

  it('N requests of a logged-in session: zero statements on the pool, then one flush moves last_accessed', async () => {
    const client = new HttpClient(node.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    await client.get('/peek');
    await node.sessions.flushLastAccess();
    const rowId = frameworkRowId(sidOf(client));
    const [before] = await db.query<{ last_accessed: Date; expires_at: Date }>(`SELECT last_accessed, expires_at FROM sessions WHERE id = $1`, [rowId]);

    const during = await countUndisturbed(node.dataSource, node, async () => {
      for (let i = 0; i < 25; i++) {
        const res = await client.get('/peek');
        assert.equal(res.body.user, 'u-alice');
        assert.ok(res.setCookies.some((c) => c.name === 'connect.sid'), 'rolling: the cookie is sent again');
      }
    });
    assert.equal(during.statements, 0, `reads from the cache, touches recorded in memory; statements from:\n${during.stacks.join('\n')}`);
    const flush = await countStatements(node.dataSource, node, () => node.sessions.flushLastAccess());
    assert.ok(flush.statements >= 1, 'the flush writes');
    const [after] = await db.query<{ last_accessed: Date; expires_at: Date }>(`SELECT last_accessed, expires_at FROM sessions WHERE id = $1`, [rowId]);
    assert.ok(after!.last_accessed > before!.last_accessed);
    assert.equal(after!.expires_at.getTime(), before!.expires_at.getTime(), 'far from expiry: not moved');
  });

  it('a touch whose cookie came back with originalMaxAge a clock tick lower is no write; a real maxAge change is one', async () => {
    // express-session recomputes originalMaxAge as expires - Date.now() when a rolling
    // touch sets expires: a millisecond tick between its two clock reads lowers it by 1.
    const client = new HttpClient(node.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    const sid = sidOf(client);
    const rowId = frameworkRowId(sid);
    const store = node.store as ExpressSessionStore;
    const get = promisify(store.get.bind(store));
    const touch = promisify(store.touch.bind(store));
    const stored = (await get(sid)) as unknown as { cookie: { originalMaxAge: number; expires: string } };
    const maxAge = stored.cookie.originalMaxAge;
    const touched = (originalMaxAge: number) => ({ ...stored, cookie: { ...stored.cookie, originalMaxAge, expires: new Date(Date.now() + originalMaxAge).toISOString() } }) as never;

    const drift = await countUndisturbed(node.dataSource, node, () => touch(sid, touched(maxAge - 1)));
    assert.equal(drift.statements, 0, `a drift of the clock is no change of the cookie; statements from:\n${drift.stacks.join('\n')}`);

    await touch(sid, touched(60_000));
    const [row] = await db.query<{ value: string }>(`SELECT value FROM session_attributes WHERE session_id = $1 AND key = 'cookie'`, [rowId]);
    assert.equal((JSON.parse(row!.value) as { originalMaxAge: number }).originalMaxAge, 60_000, 'the app shortened maxAge: stored');
  });

  it('the stored expiry moves (one write) once it trails the renewed cookie by more than the last-access interval', async () => {
    const client = new HttpClient(node.url);
    await client.get('/me');
    const rowId = frameworkRowId(sidOf(client));
    // maxAge 1 h, interval 10 min: 45 minutes left is more than 10 behind the renewed cookie.
    await db.query(`UPDATE sessions SET expires_at = now() + interval '45 minutes' WHERE id = $1`, [rowId]);
    await node.sessions.clearEntireCache();
    await client.get('/peek');
    const [row] = await db.query<{ expires_at: Date }>(`SELECT expires_at FROM sessions WHERE id = $1`, [rowId]);
    assert.ok(row!.expires_at.getTime() > Date.now() + 50 * 60 * 1000, 'moved to about now + maxAge (1 h)');
  });
});
