import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
// The sample imports the library as 'nestjs-pg-session' (dist/); this file only talks HTTP to it.
import { createSampleApp } from '../../sample/sample-app.js';
// Only to wait until a node heard a change: the token must be the sample's copy of the library.
import { SessionNotifications } from 'nestjs-pg-session';
import { useTestDatabase } from '../support/database.js';
import { heardChange, listen, PLATFORMS, type ListeningApp, type Platform } from '../support/http-apps.js';
import { HttpClient } from '../support/http-client.js';
import type { SetCookie } from '../support/cookie-jar.js';
import { waitUntilPast } from '../support/wait.js';

const SECRET = 'sample-test-secret-0123456789abcdef';
const STEP_UP_MS = 1500;

async function startSample(platform: Platform, url: string): Promise<ListeningApp> {
  return listen(await createSampleApp(platform, { databaseUrl: url, secrets: [SECRET], stepUpDuration: STEP_UP_MS, logger: false }));
}

function sessionCookie(setCookies: SetCookie[]): SetCookie {
  const ours = setCookies.filter((c) => c.name === 'session_id');
  assert.equal(ours.length, 1, `exactly one session cookie: ${setCookies.map((c) => c.raw).join(' | ')}`);
  return ours[0]!;
}

const db = useTestDatabase();

for (const platform of PLATFORMS) {
  describe(`sample app on ${platform}`, () => {
    let nodeA: ListeningApp;
    let nodeB: ListeningApp;

    before(async () => {
      nodeA = await startSample(platform, db.url);
      nodeB = await startSample(platform, db.url);
    });
    after(async () => {
      await nodeA?.close();
      await nodeB?.close();
    });

    async function loggedIn(username = 'alice', url = nodeA.url): Promise<HttpClient> {
      const client = new HttpClient(url);
      const response = await client.post('/login', { username, password: 'secret' });
      assert.equal(response.status, 200, response.text);
      return client;
    }

    it('serves the HTML page at / and node info at /node', async () => {
      const page = await new HttpClient(nodeA.url).get('/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.text, /nestjs-pg-session sample/);
      const node = await new HttpClient(nodeA.url).get('/node');
      assert.equal(node.status, 200);
      assert.equal(typeof node.body.stats.cacheHits, 'number');
    });

    it('login: 401 on bad credentials, 400 on a bad body; sets exactly one cookie; /me; logout clears it and the old cookie gets 401', async () => {
      const client = new HttpClient(nodeA.url);
      assert.equal((await client.post('/login', { username: 'alice', password: 'wrong' })).status, 401);
      assert.equal((await client.post('/login', { username: 'mallory', password: 'secret' })).status, 401);
      assert.equal((await client.post('/login', { username: 'alice' })).status, 400);
      assert.equal((await client.post('/login', { username: 42, password: 'secret' })).status, 400);
      assert.equal(client.jar.header(), undefined, 'no cookie after failed logins');

      const response = await client.post('/login', { username: 'alice', password: 'secret' });
      assert.equal(response.status, 200);
      assert.equal(response.setCookies.length, 1);
      const cookie = sessionCookie(response.setCookies);
      assert.match(cookie.value, /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
      assert.equal(cookie.attributes.get('httponly'), true);
      assert.equal(cookie.attributes.get('samesite'), 'Lax');
      assert.equal(cookie.attributes.get('path'), '/');
      assert.equal(cookie.attributes.has('secure'), false, 'the sample runs on plain http://localhost unless COOKIE_SECURE=true');
      assert.ok(Number(cookie.attributes.get('max-age')) > 0);
      assert.equal(response.body.username, 'alice');

      const me = await client.get('/me');
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, { userId: response.body.userId, username: 'alice', sessionId: response.body.sessionId });

      const oldCookie = client.jar.header()!;
      const out = await client.post('/logout');
      assert.equal(out.status, 200);
      assert.equal(sessionCookie(out.setCookies).attributes.get('max-age'), '0');
      assert.equal((await client.get('/me')).status, 401);
      assert.equal((await client.get('/me', { cookie: oldCookie })).status, 401);
      assert.equal((await client.post('/logout')).status, 200, 'logging out twice is harmless');
    });

    it('a new login replaces the session the browser still carried', async () => {
      const client = await loggedIn('bob');
      const first = client.jar.header()!;
      const second = await client.post('/login', { username: 'bob', password: 'secret' });
      assert.equal(second.status, 200);
      assert.equal((await client.get('/me', { cookie: first })).status, 401);
      assert.equal((await client.get('/me')).body.sessionId, second.body.sessionId);
    });

    it('bad cookies are 401, never 500', async () => {
      const client = await loggedIn();
      const good = client.jar.get('session_id')!;
      const [id, signature] = [good.slice(0, 36), good.slice(37)];
      const bad = [
        `${id}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`,
        `${id}.${'A'.repeat(43)}`,
        'not-a-uuid.' + signature,
        '',
        'x'.repeat(10 * 1024),
        id,
      ];
      for (const value of bad) {
        for (const path of ['/me', '/cart', '/admin/secret', '/sessions']) {
          const response = await client.get(path, { cookie: `session_id=${value}` });
          assert.equal(response.status, 401, `${path} with ${value.slice(0, 60)}: ${response.text}`);
        }
      }
      assert.equal((await client.get('/me')).status, 200);
    });

    it('step-up: 403 before, 200 after (with a new session id; the old one gets 401), 403 again once it expires', async () => {
      const client = await loggedIn();
      assert.equal((await client.post('/cart/items', { itemId: 'kept' })).status, 201);
      assert.equal((await client.get('/admin/secret')).status, 403);
      assert.equal((await new HttpClient(nodeA.url).get('/admin/secret')).status, 401);
      assert.equal((await client.post('/step-up', { password: 'wrong' })).status, 403);
      assert.equal((await client.get('/admin/secret')).status, 403);

      const before = (await client.get('/me')).body.sessionId as string;
      const oldCookie = client.jar.header()!;
      const stepUp = await client.post('/step-up', { password: 'secret' });
      assert.equal(stepUp.status, 200, stepUp.text);
      assert.notEqual(stepUp.body.sessionId, before, 'the session id changes at step-up');
      assert.equal(sessionCookie(stepUp.setCookies).value.slice(0, 36), stepUp.body.sessionId);
      const secret = await client.get('/admin/secret');
      assert.equal(secret.status, 200, secret.text);
      assert.equal(secret.body.elevatedUntil, stepUp.body.elevatedUntil);
      assert.equal((await client.get('/me')).body.sessionId, stepUp.body.sessionId);
      assert.deepEqual((await client.get('/cart')).body.items, ['kept'], 'the data moved with the session');
      assert.equal((await client.get('/me', { cookie: oldCookie })).status, 401, 'the pre-step-up id is gone');
      assert.equal((await client.get('/admin/secret', { cookie: oldCookie })).status, 401);

      await waitUntilPast(new Date(stepUp.body.elevatedUntil));
      assert.equal((await client.get('/admin/secret')).status, 403, 'the elevation expired');
      assert.equal((await client.get('/me')).status, 200, 'the session itself lives on');
    });

    it('20 concurrent adds to the cart lose nothing', async () => {
      const client = await loggedIn('bob');
      assert.deepEqual((await client.get('/cart')).body, { items: [] });
      const ids = Array.from({ length: 20 }, (_, i) => `item-${i}`);
      const responses = await Promise.all(ids.map((itemId) => client.post('/cart/items', { itemId })));
      for (const response of responses) assert.equal(response.status, 201, response.text);
      const cart = await client.get('/cart');
      assert.equal(cart.body.items.length, 20);
      assert.deepEqual([...cart.body.items].sort(), [...ids].sort());
      assert.equal((await client.post('/cart/items', {})).status, 400);
    });

    it('my sessions: list, revoke one, log out everywhere else; never another user\'s', async () => {
      const [one, two, three] = [await loggedIn(), await loggedIn(), await loggedIn()];
      const bob = await loggedIn('bob');
      const ids = await Promise.all([one, two, three].map(async (c) => (await c.get('/me')).body.sessionId as string));
      const listed = await one.get('/sessions');
      assert.equal(listed.status, 200);
      const listedIds = listed.body.sessions.map((s: { id: string }) => s.id);
      for (const id of ids) assert.ok(listedIds.includes(id), `session ${id} is listed`);
      assert.deepEqual(listed.body.sessions.filter((s: { current: boolean }) => s.current).map((s: { id: string }) => s.id), [ids[0]]);

      assert.equal((await bob.delete(`/sessions/${ids[1]}`)).status, 404, "bob cannot revoke alice's session");
      assert.equal((await two.get('/me')).status, 200);
      const revoked = await one.delete(`/sessions/${ids[1]}`);
      assert.equal(revoked.status, 200);
      assert.equal(revoked.setCookies.length, 0, 'revoking another session leaves this cookie alone');
      assert.equal((await two.get('/me')).status, 401);
      assert.ok(!(await one.get('/sessions')).body.sessions.some((s: { id: string }) => s.id === ids[1]));

      const others = await one.post('/sessions/revoke-others');
      assert.equal(others.status, 200);
      assert.ok(others.body.revoked >= 1);
      assert.equal((await three.get('/me')).status, 401);
      assert.equal((await one.get('/me')).status, 200);
      assert.equal((await bob.get('/me')).status, 200, "bob's session is untouched");
      assert.deepEqual((await one.get('/sessions')).body.sessions.map((s: { id: string }) => s.id), [ids[0]]);

      const self = await one.delete(`/sessions/${ids[0]}`);
      assert.equal(self.status, 200);
      assert.equal(sessionCookie(self.setCookies).attributes.get('max-age'), '0', 'revoking the current session clears its cookie');
      assert.equal((await one.get('/me')).status, 401);
    });

    it('revoke on node B: the next request on node A with that cookie gets 401', async () => {
      const onA = await loggedIn('alice', nodeA.url);
      const onB = await loggedIn('alice', nodeB.url);
      const id = (await onA.get('/me')).body.sessionId as string;
      assert.equal((await onA.get('/me')).status, 200, 'node A has the session cached');
      const cookie = onA.jar.header()!;
      // Revocation reaches A by NOTIFY within milliseconds: wait until A heard it.
      const heard = heardChange(nodeA.app, SessionNotifications, (c) => c.ids.includes(id));
      assert.equal((await onB.delete(`/sessions/${id}`)).status, 200);
      await heard;
      assert.equal((await onA.get('/me', { cookie })).status, 401, 'node A must not serve a session revoked on node B');
      // and the other way round, with "log out everywhere else"
      const again = await loggedIn('alice', nodeA.url);
      const againId = (await again.get('/me')).body.sessionId as string;
      assert.equal((await again.get('/me')).status, 200);
      const heardAgain = heardChange(nodeA.app, SessionNotifications, (c) => c.ids.includes(againId));
      assert.equal((await onB.post('/sessions/revoke-others')).status, 200);
      await heardAgain;
      assert.equal((await again.get('/me')).status, 401, 'node A must not serve a session revoked everywhere else from node B');
    });
  });
}
