import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SessionNotifications, type SessionService } from '../../lib/index.js';
import { frameworkRowId } from '../../lib/framework-stores/framework-session-id.js';
import type { TestDatabase } from './database.js';
import { heardChange, type ListeningApp } from './http-apps.js';
import { HttpClient } from './http-client.js';
import { waitUntilPast } from './wait.js';

/** One node of a framework-store app (express-session or @fastify/session, with Passport). */
export interface FrameworkStoreNode extends ListeningApp {
  readonly sessions: SessionService;
  readonly barrier: { waiting: number; target: number };
}

/** What the scenarios both framework stores must pass need of a suite's two-node setup. */
export interface FrameworkStoreSetup {
  readonly db: TestDatabase;
  /** The suite's two nodes (started in its `before` hook). */
  nodes(): readonly [FrameworkStoreNode, FrameworkStoreNode];
  /** The session id the framework put in the client's cookie. */
  sidOf(client: HttpClient): string;
  /** A route that reads the session without changing it. */
  readonly readRoute: string;
  /** What the framework's Passport keeps in the session for a logged-in user id. */
  passportOf(userId: string): unknown;
}

/**
 * The scenarios both framework stores must pass, registered as tests of the calling
 * suite. The app serves `/login`, `/me`, `/peek`, `/data`, `/keys/:key`, `/short/:ms`
 * and `/destroy` (see framework-apps.ts and fastify-store-app.ts).
 */
export function frameworkStoreScenarios(setup: FrameworkStoreSetup): void {
  const { db, sidOf, readRoute } = setup;

  it('maxSessions applies once a session belongs to a user', async () => {
    const [a, b] = setup.nodes();
    const clients = [new HttpClient(a.url), new HttpClient(b.url), new HttpClient(a.url)];
    for (const c of clients) assert.equal((await c.post('/login', { username: 'bob', password: 'secret' })).status, 201);
    const listed = await a.sessions.listUserSessions('u-bob');
    assert.deepEqual(new Set(listed.map((s) => s.id)), new Set([frameworkRowId(sidOf(clients[1]!)), frameworkRowId(sidOf(clients[2]!))]));
    assert.equal((await clients[0]!.get(readRoute)).body.user, null, 'the least recently used login was evicted');
    await a.sessions.deleteAllUserSessions('u-bob');
  });

  it('20 concurrent requests each setting a different key of one session: all 20 are stored', async () => {
    const [a, b] = setup.nodes();
    const client = new HttpClient(a.url);
    await client.post('/login', { username: 'alice', password: 'secret' });
    a.barrier.waiting = 0;
    a.barrier.target = 20;
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((k) => client.post(`/keys/${k}`)));
      const data = (await client.on(b.url).get('/data')).body as Record<string, unknown>;
      for (const k of keys) assert.equal(data[k], `value-${k}`, `key ${k} kept`);
      assert.deepEqual(data.passport, setup.passportOf('u-alice'));
      assert.equal(data.__pgSessionBase, undefined, "the store's bookkeeping never serializes");
    } finally {
      a.barrier.target = 0;
    }
  });

  it('a cookie whose maxAge ran out: the session is gone on both nodes', async () => {
    const [a, b] = setup.nodes();
    const client = new HttpClient(a.url);
    await client.get('/me');
    const sid = sidOf(client);
    await client.post('/short/400');
    const [row] = await db.query<{ expires_at: Date }>(`SELECT expires_at FROM sessions WHERE id = $1`, [frameworkRowId(sid)]);
    assert.ok(row);
    await waitUntilPast(row.expires_at);
    for (const node of [a, b]) {
      const seen = await client.on(node.url).get('/peek', { cookie: client.jar.header() ?? null });
      assert.notEqual(seen.body.sid, sid, 'a new session was generated');
    }
  });

  it('destroyed session is gone on the other node', async () => {
    const [a, b] = setup.nodes();
    const client = new HttpClient(a.url);
    await client.get('/me');
    const sid = sidOf(client);
    await client.on(b.url).get(readRoute);
    const heard = heardChange(b.app, SessionNotifications, (c) => c.type === 'sessions' && c.ids.includes(frameworkRowId(sid)));
    await client.post('/destroy');
    await heard;
    const seen = await client.on(b.url).get('/peek', { cookie: client.jar.header() ?? null });
    assert.notEqual(seen.body.sid, sid);
  });
}
