import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SessionNotifications } from '../../lib/index.js';
import { FRAMEWORK_STORE_GROUP_ID, frameworkRowId } from '../../lib/fastify-session.js';
import { useTestDatabase } from '../support/database.js';
import { startFastifyStoreNode, type FastifyStoreNode } from '../support/fastify-store-app.js';
import { frameworkStoreScenarios } from '../support/framework-store-scenarios.js';
import { heardChange } from '../support/http-apps.js';
import { HttpClient } from '../support/http-client.js';
import { countStatements, countUndisturbed } from '../support/pool-statements.js';
import { waitUntilPast } from '../support/wait.js';

const db = useTestDatabase();

/** The session id @fastify/session put in the signed cookie `sessionId` (<sid>.<sig>). */
function sidOf(client: HttpClient): string {
  const raw = decodeURIComponent(client.jar.header()?.match(/sessionId=([^;]+)/)?.[1] ?? '');
  return raw.slice(0, raw.lastIndexOf('.'));
}

describe('FastifySessionStore with @fastify/session and @fastify/passport, two nodes', () => {
  let a: FastifyStoreNode;
  let b: FastifyStoreNode;

  before(async () => {
    a = await startFastifyStoreNode(db.url, { module: { maxSessions: 2 } });
    b = await startFastifyStoreNode(db.url, { module: { maxSessions: 2 } });
  });

  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('login through @fastify/passport: request.user on later requests on both nodes; logout', async () => {
    const client = new HttpClient(a.url);
    const anonymous = await client.get('/me');
    assert.equal(anonymous.body.user, null);
    const before = sidOf(client);
    assert.ok(before.length > 0);
    assert.deepEqual((await db.query(`SELECT user_id FROM sessions WHERE id = $1`, [frameworkRowId(before)])), [{ user_id: '' }]);

    assert.equal((await client.post('/login', { username: 'alice', password: 'wrong' })).status, 401);
    const login = await client.post('/login', { username: 'alice', password: 'secret' });
    assert.equal(login.status, 201);
    assert.equal(login.body.user, 'u-alice');
    const sid = sidOf(client);
    assert.notEqual(sid, before, 'the login regenerated the session id');

    assert.equal((await client.get('/me')).body.user, 'u-alice');
    assert.equal((await client.on(b.url).get('/me')).body.user, 'u-alice');
    assert.deepEqual((await a.sessions.listUserSessions('u-alice')).map((s) => s.id), [frameworkRowId(sid)]);
    assert.equal((await db.query(`SELECT 1 FROM sessions WHERE id = $1`, [frameworkRowId(before)])).length, 0);

    assert.equal((await client.on(b.url).post('/logout')).status, 201);
    assert.equal((await client.get('/me')).body.user, null);
    assert.equal((await client.on(b.url).get('/me')).body.user, null);
  });

  it('revoke-all on node B: node A answers as anonymous as soon as it heard it', async () => {
    const client = new HttpClient(a.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    assert.equal((await client.get('/me')).body.user, 'u-alice');
    assert.equal((await client.get('/peek')).body.user, 'u-alice');
    const heard = heardChange(a.app, SessionNotifications, (c) => c.type === 'user' && c.ids.includes('u-alice'));
    await b.sessions.deleteAllUserSessions('u-alice');
    await heard;
    assert.equal((await client.get('/peek')).body.user, null);
  });

  // maxSessions, 20 concurrent writers, an expired cookie, destroy: the same for every framework store.
  frameworkStoreScenarios({ db, nodes: () => [a, b], sidOf, readRoute: '/peek', passportOf: (user) => user });

  it('rolling (a set on every request whose only change is the cookie expiry): zero statements until the flush', async () => {
    const client = new HttpClient(a.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    await client.get('/peek');
    await a.sessions.flushLastAccess();
    const rowId = frameworkRowId(sidOf(client));
    const [before] = await db.query<{ last_accessed: Date }>(`SELECT last_accessed FROM sessions WHERE id = $1`, [rowId]);
    const during = await countUndisturbed(a.dataSource, a, async () => {
      for (let i = 0; i < 25; i++) {
        const res = await client.get('/peek');
        assert.equal(res.body.user, 'u-alice');
        assert.ok(res.setCookies.some((c) => c.name === 'sessionId'), 'rolling: the cookie is sent again');
      }
    });
    assert.equal(during.statements, 0, `statements from:\n${during.stacks.join('\n')}`);
    const flush = await countStatements(a.dataSource, a, () => a.sessions.flushLastAccess());
    assert.ok(flush.statements >= 1, 'the flush writes');
    const [after] = await db.query<{ last_accessed: Date }>(`SELECT last_accessed FROM sessions WHERE id = $1`, [rowId]);
    assert.ok(after!.last_accessed > before!.last_accessed);
  });

  it('length, all and clear, on both nodes', async () => {
    const clients = [new HttpClient(a.url), new HttpClient(b.url)];
    for (const c of clients) await c.get('/me');
    const lengthA = await promisify(a.store.length.bind(a.store))();
    assert.equal(lengthA, await promisify(b.store.length.bind(b.store))());
    const [rows] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE group_id = $1 AND expires_at > now()`, [FRAMEWORK_STORE_GROUP_ID]);
    assert.equal(lengthA, rows!.n);
    const all = (await promisify(b.store.all.bind(b.store))()) as Array<Record<string, unknown>>;
    assert.equal(all.length, lengthA);
    await clients[0]!.get('/peek');
    const heard = heardChange(a.app, SessionNotifications, (c) => c.type === 'group');
    await promisify(b.store.clear.bind(b.store))();
    await heard;
    assert.equal(await promisify(a.store.length.bind(a.store))(), 0);
    const sid = sidOf(clients[0]!);
    assert.notEqual((await clients[0]!.get('/peek')).body.sid, sid);
  });
});
