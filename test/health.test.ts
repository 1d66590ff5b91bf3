import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
// The sample imports the library as 'nestjs-pg-session' (dist/); this file only talks HTTP to it.
import { createSampleApp } from '../sample/sample-app.js';
import { startOwnServer, type OwnServer } from './support/embedded-server.js';
import { listen, type ListeningApp } from './support/http-apps.js';
import { HttpClient, type HttpResult } from './support/http-client.js';
import { assertNoOpenHandles } from './support/handles.js';
import { waitFor } from './support/wait.js';

const SECRET = 'health-test-secret-0123456789abcdef';

describe("health: the sample's GET /health follows the database", () => {
  let server: OwnServer;
  let node: ListeningApp | undefined;

  before(async () => {
    server = await startOwnServer();
  });

  after(async () => {
    await node?.close();
    await server?.stop();
    await assertNoOpenHandles();
  });

  it('is up, goes down with the reason while PostgreSQL is stopped, and comes back up after it returns', async () => {
    node = await listen(await createSampleApp('express', { databaseUrl: server.url, secrets: [SECRET], logger: false }));
    const client = new HttpClient(node.url);
    const up = await client.get('/health');
    assert.equal(up.status, 200, up.text);
    assert.equal(up.body.status, 'ok');
    assert.equal(up.body.info.sessions.status, 'up');
    assert.equal(up.body.info.sessions.database, 'up');
    assert.equal(up.body.info.sessions.listener, 'listening');

    await server.pause();
    let down: HttpResult | undefined;
    await waitFor(async () => {
      down = await client.get('/health');
      return down.status === 503 && down.body.error?.sessions?.listener === 'reconnecting';
    }, '/health to report the outage', 30_000);
    const details = down!.body.error.sessions;
    assert.equal(down!.body.status, 'error');
    assert.equal(details.status, 'down');
    assert.equal(details.database, 'down');
    assert.equal(typeof details.databaseError, 'string');
    assert.ok(!Number.isNaN(Date.parse(details.listenerDownSince)), `listenerDownSince is a date: ${details.listenerDownSince}`);

    await server.start();
    await waitFor(async () => (await client.get('/health')).status === 200, '/health to be up again', 60_000);
    const back = await client.get('/health');
    assert.equal(back.body.info.sessions.listener, 'listening');
    assert.equal(back.body.info.sessions.listenerDownSince, undefined);
  });
});
