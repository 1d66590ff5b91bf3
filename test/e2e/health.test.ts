import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
// The sample imports the library as 'nestjs-pg-session' (dist/); this file only talks HTTP to it.
import { createSampleApp } from '../../sample/sample-app.js';
import { startOwnServer, type OwnServer } from '../support/embedded-server.js';
import { listen, type ListeningApp } from '../support/http-apps.js';
import { HttpClient, type HttpResult } from '../support/http-client.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextStatus, startNode, type TestNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'health-test-secret-0123456789abcdef';

describe("health: the sample's GET /health follows the database", () => {
  let server: OwnServer;
  let node: ListeningApp | undefined;
  let plain: TestNode | undefined;

  before(async () => {
    server = await startOwnServer();
  });

  after(async () => {
    await node?.close();
    await plain?.close();
    await server?.stop();
    await assertNoOpenHandles();
  });

  it('is up, goes down with the reason while PostgreSQL is stopped, and comes back up after it returns', async () => {
    node = await listen(await createSampleApp('express', { databaseUrl: server.url, secrets: [SECRET], logger: false }));
    // A second node with a recording logger and fast retries: the outage must log once
    // when it starts and once when it ends, however many reconnects fail in between.
    plain = await startNode(server.url, { reconnectInterval: 50 });
    const client = new HttpClient(node.url);
    const up = await client.get('/health');
    assert.equal(up.status, 200, up.text);
    assert.equal(up.body.status, 'ok');
    assert.equal(up.body.info.sessions.status, 'up');
    assert.equal(up.body.info.sessions.database, 'up');
    assert.equal(up.body.info.sessions.listener, 'listening');

    const plainDown = nextStatus(plain, 'reconnecting');
    await server.pause();
    await plainDown;
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

    const plainBack = nextStatus(plain, 'resynced', 60_000);
    await server.start();
    await plainBack;
    await waitFor(async () => (await client.get('/health')).status === 200, '/health to be up again', 60_000);
    const back = await client.get('/health');
    assert.equal(back.body.info.sessions.listener, 'listening');
    assert.equal(back.body.info.sessions.listenerDownSince, undefined);

    const outage = plain.logger.lines.filter((l) => /LISTEN connection (lost|restored)/.test(l.message));
    assert.equal(outage.length, 2, `one line at the start and one at the end: ${JSON.stringify(outage)}`);
    assert.equal(outage[0]!.level, 'warn');
    assert.match(outage[0]!.message, /LISTEN connection lost/);
    assert.match(outage[1]!.message, /LISTEN connection restored after \d+\.\d s/);
  });
});
