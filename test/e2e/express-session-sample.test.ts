import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
// The sample imports the library as 'nestjs-pg-session' (dist/): the token must be that copy.
import { SessionNotifications } from 'nestjs-pg-session';
import { createExpressSessionSample } from '../../sample/express-session/express-session-sample.js';
import { useTestDatabase } from '../support/database.js';
import { heardChange, listen, type ListeningApp } from '../support/http-apps.js';
import { HttpClient } from '../support/http-client.js';

const db = useTestDatabase();

describe('express-session sample (Passport app that switched its store)', () => {
  let a: ListeningApp;
  let b: ListeningApp;

  before(async () => {
    a = await listen(await createExpressSessionSample({ databaseUrl: db.url, logger: false }));
    b = await listen(await createExpressSessionSample({ databaseUrl: db.url, logger: false }));
  });

  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('login, cart across nodes, the session list, log out everywhere', async () => {
    const client = new HttpClient(a.url);
    assert.equal((await client.get('/')).status, 200);
    assert.equal((await client.get('/me')).status, 401);
    assert.equal((await client.post('/login', { username: 'alice', password: 'nope' })).status, 401);
    assert.equal((await client.post('/login', { username: 'alice', password: 'secret' })).status, 200);
    const me = await client.get('/me');
    assert.equal(me.body.username, 'alice');

    assert.deepEqual((await client.on(b.url).post('/cart/items', { itemId: 'book' })).body, { items: ['book'] });
    assert.deepEqual((await client.get('/cart')).body, { items: ['book'] });

    const listed = await client.get('/sessions');
    assert.deepEqual(listed.body.map((s: { id: string }) => s.id), [me.body.sessionId]);

    const other = new HttpClient(b.url);
    await other.post('/login', { username: 'alice', password: 'secret' });
    assert.equal((await other.get('/me')).status, 200);
    const heard = heardChange(b.app, SessionNotifications, (c) => c.type === 'user');
    assert.equal((await client.post('/sessions/revoke-all')).status, 200);
    await heard;
    assert.equal((await other.get('/me')).status, 401);
    assert.equal((await client.get('/me')).status, 401);
  });
});
