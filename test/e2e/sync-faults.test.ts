import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SessionConflictError, type Session } from '../../lib/index.js';
import { SessionSync } from '../../lib/sync/session-sync.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { useOwnServer } from '../support/embedded-server.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextChange, nextStatus, startNode, type TestNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/** Makes `writer` commit a notified write and waits until every node in `listeners` heard it. */
async function barrier(writer: TestNode, listeners: TestNode[]): Promise<void> {
  const user = `barrier-${Math.random().toString(36).slice(2)}`;
  await writer.sessions.createSession(user);
  const heard = listeners.map((n) => nextChange(n, (c) => c.type === 'user' && c.ids.includes(user)));
  await writer.sessions.deleteAllUserSessions(user);
  await Promise.all(heard);
}

/** Asserts that each node's plain read of each session equals the database's row. */
async function assertViewsMatchDatabase(query: TestDatabase['query'], nodes: TestNode[], ids: string[]): Promise<void> {
  const rows = await query<{ id: string; version: number; value: string | null }>(
    `SELECT s.id, s.version, a.value FROM sessions s LEFT JOIN session_attributes a ON a.session_id = s.id AND a.key = 'n' WHERE s.id = ANY($1::uuid[])`,
    [ids],
  );
  const stored = new Map(rows.map((r) => [r.id, r]));
  for (const [i, node] of nodes.entries()) {
    for (const id of ids) {
      const row = stored.get(id)!;
      const seen = await node.sessions.getSession(id);
      assert.equal(seen.version, row.version, `node ${i} session ${id}: version`);
      assert.deepEqual(seen.getAttribute('n'), row.value === null ? undefined : JSON.parse(row.value));
    }
  }
}

/** Runs `workers` loops of random reads and checked increments until `stop()` resolves; returns stats. */
function load(nodes: TestNode[], ids: string[], workers: number) {
  let running = true;
  let acknowledged = 0;
  const errors: unknown[] = [];
  const loops = Array.from({ length: workers }, async (_, w) => {
    while (running) {
      const node = nodes[(w + acknowledged) % nodes.length]!;
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      try {
        const session: Session = await node.sessions.getSession(id);
        if (w % 2 === 0) {
          session.setAttribute('n', (session.getAttribute<number>('n') ?? 0) + 1);
          await node.sessions.updateSession(session, { checkAttributeVersion: true });
          acknowledged++;
        }
      } catch (err) {
        if (!(err instanceof SessionConflictError)) errors.push(err);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    get acknowledged() {
      return acknowledged;
    },
    errors,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('faults: dropped LISTEN connections, stress, malformed notifications', () => {
  let db: TestDatabase;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  before(async () => {
    db = await createTestDatabase();
    process.on('unhandledRejection', onUnhandled);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await assertNoOpenHandles();
    await db?.drop();
    assert.deepEqual(unhandled, [], 'no unhandled rejection during the faults');
  });

  it('terminating B\'s LISTEN backend: B reads the database during the gap, reconnects, resyncs, never serves stale data', async () => {
    const a = await startNode(db.url);
    const b = await startNode(db.url, { reconnectInterval: 200 });
    try {
      const s = await a.sessions.createSession('gap-user', { n: { value: 0 } });
      await b.sessions.getSession(s.id);
      assert.equal((await b.sessions.getSession(s.id)).fromCache, true);
      const statuses: string[] = [];
      const sub = b.app.get(SessionSync).status$.subscribe((status) => statuses.push(status));
      const reconnecting = nextStatus(b, 'reconnecting');
      const resynced = nextStatus(b, 'resynced');
      const started = Date.now();
      await db.query('SELECT pg_terminate_backend($1)', [b.app.get(SessionSync).listenerPid]);
      await reconnecting;
      assert.equal(b.sessions.stats().listening, false);
      // A keeps writing while B is deaf; B must read the database, not its stale cache.
      const read = await a.sessions.getSession(s.id);
      read.setAttribute('n', 1);
      const written = await a.sessions.updateSession(read);
      const during = await b.sessions.getSession(s.id);
      assert.equal(during.fromCache, false);
      assert.ok(during.version >= written.version);
      await resynced;
      const elapsed = Date.now() - started;
      sub.unsubscribe();
      assert.deepEqual(statuses, ['reconnecting', 'resynced']);
      await barrier(a, [b]);
      const afterGap = await b.sessions.getSession(s.id);
      assert.equal(afterGap.getAttribute('n'), 1);
      assert.equal(b.sessions.stats().resyncs, 1);
      assert.equal(b.sessions.stats().listening, true);
      assert.equal((await b.sessions.getSession(s.id)).fromCache, true, 'caching resumed');
      process.stdout.write(`# pg_terminate_backend → 'resynced' took ${elapsed} ms\n`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('20 terminations under concurrent reads and writes on 3 nodes: no stale read after resync, no crash', async () => {
    const nodes = await Promise.all([startNode(db.url, { reconnectInterval: 50 }), startNode(db.url, { reconnectInterval: 50 }), startNode(db.url, { reconnectInterval: 50 })]);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    try {
      const ids = (await Promise.all(Array.from({ length: 10 }, (_, i) => a.sessions.createSession(`gap-load-${i}`, { n: { value: 0 } })))).map((s) => s.id);
      const work = load(nodes, ids, 8);
      try {
        for (let round = 0; round < 20; round++) {
          const victim = nodes[round % 3]!;
          const resynced = nextStatus(victim, 'resynced');
          await db.query('SELECT pg_terminate_backend($1)', [victim.app.get(SessionSync).listenerPid]);
          await resynced;
          // What the database held after the resync; once a later write's notification was
          // heard (notifications arrive in commit order), the victim must serve at least this.
          const rows = await db.query<{ id: string; version: number }>(`SELECT id, version FROM sessions WHERE id = ANY($1::uuid[])`, [ids]);
          await barrier(nodes[(round + 1) % 3]!, [victim]);
          for (const row of rows) {
            const seen = await victim.sessions.getSession(row.id);
            assert.ok(seen.version >= row.version, `round ${round}: stale read ${seen.version} < ${row.version}`);
          }
        }
      } finally {
        await work.stop();
      }
      assert.deepEqual(work.errors, []);
      assert.ok(work.acknowledged > 0);
      await barrier(a, [b, c]);
      await barrier(b, [a]);
      await assertViewsMatchDatabase(db.query, nodes, ids);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('stress: 3 nodes, 16 concurrent readers and writers on 50 sessions; every node ends equal to the database', async () => {
    const nodes = await Promise.all([startNode(db.url), startNode(db.url), startNode(db.url)]);
    try {
      const ids = (await Promise.all(Array.from({ length: 50 }, (_, i) => nodes[i % 3]!.sessions.createSession(`stress-${i}`, { n: { value: 0 } })))).map((s) => s.id);
      const work = load(nodes, ids, 16);
      const until = Date.now() + 3000;
      try {
        await waitFor(() => Date.now() > until, 'the stress period to end', 10_000);
      } finally {
        await work.stop();
      }
      assert.deepEqual(work.errors, []);
      const [{ total }] = await db.query<{ total: string }>(
        `SELECT coalesce(sum(value::int), 0) AS total FROM session_attributes WHERE key = 'n' AND session_id = ANY($1::uuid[])`, [ids]);
      assert.equal(Number(total), work.acknowledged, 'every acknowledged increment is stored exactly once');
      await barrier(nodes[0]!, [nodes[1]!, nodes[2]!]);
      await barrier(nodes[1]!, [nodes[0]!]);
      await assertViewsMatchDatabase(db.query, nodes, ids);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('malformed, unknown and oversized-list notifications are handled; the process stays alive', async () => {
    const b = await startNode(db.url, { cacheSize: 2000 });
    const a = await startNode(db.url, { maxSessions: 1000 });
    const raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
    try {
      const channel = b.app.get(SessionSync)['connection']['options'].channel.replace(/"/g, '') as string;
      for (const payload of ['', 'not json', '{"n":"x","t":"zzz","i":[]}', '{"t":"s","i":["a"]}', '{"n":"x","t":"s","i":[1,2]}', 'null', '[]']) {
        await raw.query('SELECT pg_notify($1, $2)', [channel, payload]);
      }
      const ids: string[] = [];
      for (let i = 0; i < 400; i++) ids.push((await a.sessions.createSession(`many-${i}`)).id);
      for (const id of ids) await b.sessions.getSession(id);
      // 400 ids (over 15,000 bytes as one list) sent as another node's statements would:
      // in chunks of 150, each far under NOTIFY's 8000-byte limit.
      const payloads: string[] = [];
      for (let i = 0; i < ids.length; i += 150) payloads.push(JSON.stringify({ n: 'some-other-node', t: 's', i: ids.slice(i, i + 150) }));
      assert.ok(Buffer.byteLength(JSON.stringify(ids)) > 8000, 'the list is too large for one payload');
      assert.ok(payloads.every((p) => Buffer.byteLength(p) < 8000));
      const heard = new Set<string>();
      const sub = b.app.get(SessionSync).changes$.subscribe((c) => c.ids.forEach((id) => heard.add(id)));
      for (const payload of payloads) await raw.query('SELECT pg_notify($1, $2)', [channel, payload]);
      await waitFor(() => ids.every((id) => heard.has(id)), 'all ids to be heard');
      sub.unsubscribe();
      assert.equal(b.sessions.stats().cacheSize, 0);
      const warnings = b.logger.lines.filter((l) => l.level === 'warn' && /malformed session notification/.test(l.message));
      assert.equal(warnings.length, 7);
      // still working
      const s = await a.sessions.createSession('after-garbage');
      await b.sessions.getSession(s.id);
      const change = nextChange(b, (c) => c.ids.includes(s.id));
      await a.sessions.deleteSession(s.id);
      await change;
    } finally {
      await raw.end();
      await a.close();
      await b.close();
    }
  });
});

describe('faults: PostgreSQL stopped and restarted under load', () => {
  const server = useOwnServer();
  after(() => assertNoOpenHandles());

  it('operations fail during the outage, every node recovers by itself, no acknowledged write is lost, no stale read after', async () => {
    const nodes = await Promise.all([startNode(server.url, { reconnectInterval: 100 }), startNode(server.url, { reconnectInterval: 100 })]);
    const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> => server.query<R>(text, values);
    try {
      const ids = (await Promise.all(Array.from({ length: 10 }, (_, i) => nodes[0]!.sessions.createSession(`outage-${i}`, { n: { value: 0 } })))).map((s) => s.id);
      for (const id of ids) await nodes[1]!.sessions.getSession(id);
      // Each acknowledged increment is recorded; after the outage the stored count must be at least that.
      const acknowledged = new Map<string, number>(ids.map((id) => [id, 0]));
      let running = true;
      const failures: unknown[] = [];
      const writers = ids.map(async (id, i) => {
        const node = nodes[i % 2]!;
        while (running) {
          try {
            const s = await node.sessions.getSession(id, { forceRefresh: true });
            s.setAttribute('n', (s.getAttribute<number>('n') ?? 0) + 1);
            const saved = await node.sessions.updateSession(s, { checkAttributeVersion: true });
            acknowledged.set(id, saved.getAttribute<number>('n')!);
          } catch (err) {
            failures.push(err);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      });
      try {
        const down = nodes.map((n) => nextStatus(n, 'reconnecting'));
        await waitFor(() => [...acknowledged.values()].every((v) => v > 0), 'some writes before the outage');
        await server.pause();
        await Promise.all(down);
        const failuresBefore = failures.length;
        await waitFor(() => failures.length > failuresBefore + 5, 'operations to fail during the outage');
        const back = nodes.map((n) => nextStatus(n, 'resynced', 60_000));
        await server.start();
        await Promise.all(back);
        const progress = new Map(acknowledged);
        await waitFor(() => ids.every((id) => acknowledged.get(id)! > progress.get(id)!), 'writes to succeed again', 30_000);
      } finally {
        running = false;
        await Promise.all(writers);
      }
      assert.ok(failures.length > 0, 'operations failed with errors during the outage');
      const rows = await query<{ id: string; value: string }>(`SELECT session_id AS id, value FROM session_attributes WHERE key = 'n'`);
      for (const row of rows) assert.ok(Number(row.value) >= acknowledged.get(row.id)!, 'an acknowledged write was lost');
      await barrier(nodes[0]!, [nodes[1]!]);
      await barrier(nodes[1]!, [nodes[0]!]);
      await assertViewsMatchDatabase(query, nodes, ids);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
