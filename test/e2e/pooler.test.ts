import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LockHeldError, LockService, SessionNotFoundError, SessionNotifications, type SessionModuleOptions } from '../../lib/index.js';
import { SESSION_DATABASE } from '../../lib/options/internal.tokens.js';
import { detectTransactionPooler } from '../../lib/store/pooler-detection.js';
import type { SessionDatabase } from '../../lib/store/session.database.js';
import { createTestDatabase, serverUrl, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { rejectionOf } from '../support/lock-rows.js';
import { nextChange, startNode, type TestNode } from '../support/nodes.js';
import { adminCommand, startPgbouncer, type Pgbouncer } from '../support/pgbouncer.js';
import { waitFor, waitUntilPast } from '../support/wait.js';

/** Ids of sessions `node` heard another node change, collected from the start. */
function heardIds(node: TestNode): Set<string> {
  const heard = new Set<string>();
  node.app.get(SessionNotifications).changes$.subscribe((c) => {
    if (c.type === 'sessions') for (const id of c.ids) heard.add(id);
  });
  return heard;
}

/** Settles `promise`, failing when it neither resolves nor rejects within `ms` (a stuck pool). */
async function settleWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} neither resolved nor rejected within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

describe('behind PgBouncer in transaction pooling mode (LISTEN direct)', () => {
  let db: TestDatabase;
  let bouncer: Pgbouncer;
  let a: TestNode;
  let b: TestNode;
  let heardByA: Set<string>;
  let heardByB: Set<string>;

  before(async () => {
    db = await createTestDatabase();
    bouncer = await startPgbouncer(serverUrl(), { poolMode: 'transaction', poolSize: 20 });
    // createSchemaIfMissing (startNode's default) runs through the pooler too.
    a = await startNode(bouncer.url(db.name), { listenConnectionString: db.url, maxSessions: 3 });
    b = await startNode(bouncer.url(db.name), { listenConnectionString: db.url, maxSessions: 3 });
    heardByA = heardIds(a);
    heardByB = heardIds(b);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await bouncer?.stop();
    await assertNoOpenHandles();
    await db?.drop();
  });

  it('createSchemaIfMissing through the pooler created the tables', async () => {
    const [row] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('sessions', 'session_attributes', 'session_locks')`,
    );
    assert.equal(row!.n, 3);
  });

  it('two nodes, 16 concurrent callers: 400 of 400 rounds succeed and the other node hears every update', async () => {
    const ROUNDS = 400;
    const CALLERS = 16;
    const failures: string[] = [];
    let next = 0;
    let succeeded = 0;

    async function round(caller: number, r: number): Promise<void> {
      const [writer, other] = caller % 2 === 0 ? [a, b] : [b, a];
      const heardByWriter = writer === a ? heardByA : heardByB;
      const user = `pool-user-${caller}`;
      const created = await writer.sessions.createSession(user, { n: { value: -1 }, tag: { value: 'x' } }, { groupId: `g-${caller % 3}` });
      const read = await other.sessions.getSession(created.id);
      assert.equal(read.getAttribute('n'), -1);
      const writerCopy = await writer.sessions.getSession(created.id); // cached on the writer
      assert.equal(writerCopy.fromCache, true);
      read.setAttribute('n', r);
      const updated = await other.sessions.updateSession(read, { checkAttributeVersion: true });
      assert.equal(updated.version, 2);
      await waitFor(() => heardByWriter.has(created.id), `node ${writer === a ? 'A' : 'B'} to hear the update of ${created.id}`);
      assert.equal((await writer.sessions.getSession(created.id)).getAttribute('n'), r);
      const listed = await writer.sessions.listUserSessions(user);
      assert.ok(listed.some((s) => s.id === created.id));
      const lock = writer.app.get(LockService).createLock(created.id, `res-${r}`, { heartbeatInterval: 60_000, leaseTime: 60_000 });
      await lock.lock();
      await lock.unlock();
      await writer.sessions.cleanupExpiredSessions();
      await other.sessions.flushLastAccess();
      await other.sessions.deleteSession(created.id);
      await assert.rejects(writer.sessions.getSession(created.id, { forceRefresh: true }), SessionNotFoundError);
    }

    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        for (let r = next++; r < ROUNDS; r = next++) {
          try {
            await round(caller, r);
            succeeded++;
          } catch (err) {
            failures.push(err instanceof Error ? err.message : String(err));
          }
        }
      }),
    );
    const counts = new Map<string, number>();
    for (const f of failures) {
      const key = f.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/nps_[0-9a-z]+_/g, 'nps_…_').slice(0, 160);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(succeeded, ROUNDS, `${succeeded} of ${ROUNDS} rounds succeeded; failures: ${JSON.stringify([...counts], null, 1)}`);
  });

  it('cross-node invalidation: B drops its copy when A updates, regenerates and deletes', async () => {
    const s = await a.sessions.createSession('inv-user', { v: { value: 1 } });
    await b.sessions.getSession(s.id);
    assert.equal((await b.sessions.getSession(s.id)).fromCache, true);
    const heardUpdate = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    const read = await a.sessions.getSession(s.id);
    read.setAttribute('v', 2);
    await a.sessions.updateSession(read);
    await heardUpdate;
    assert.equal((await b.sessions.getSession(s.id)).getAttribute('v'), 2);

    const heardRegenerate = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    const fresh = await a.sessions.regenerateSession(await a.sessions.getSession(s.id));
    await heardRegenerate;
    await assert.rejects(b.sessions.getSession(s.id), SessionNotFoundError);
    assert.equal((await b.sessions.getSession(fresh.id)).getAttribute('v'), 2);

    const heardDelete = nextChange(b, (c) => c.type === 'user' && c.ids.includes('inv-user'));
    await a.sessions.deleteAllUserSessions('inv-user');
    await heardDelete;
    await assert.rejects(b.sessions.getSession(fresh.id), SessionNotFoundError);
  });

  it('locks: one holder across nodes, increasing fencing tokens, heartbeat extends the lease', async () => {
    const s = await a.sessions.createSession('lock-user');
    const first = a.app.get(LockService).createLock(s.id, 'cart', { heartbeatInterval: 20, leaseTime: 1000 });
    await first.lock();
    const token = first.fencingToken!;
    const rival = b.app.get(LockService).createLock(s.id, 'cart', { maxRetries: 0 });
    assert.ok((await rejectionOf(rival.lock())) instanceof LockHeldError);
    const [{ expires_at: before } = { expires_at: 0 }] = await db.query<{ expires_at: Date }>(`SELECT expires_at FROM session_locks WHERE session_id = $1`, [s.id]);
    await waitFor(async () => {
      const [row] = await db.query<{ expires_at: Date }>(`SELECT expires_at FROM session_locks WHERE session_id = $1`, [s.id]);
      return row !== undefined && row.expires_at.getTime() > new Date(before).getTime();
    }, 'a heartbeat to extend the lease through the pooler');
    await first.unlock();
    await rival.lock();
    assert.ok(rival.fencingToken! > token);
    await rival.unlock();
  });

  it('cleanup through the pooler deletes expired sessions and the other node hears it', async () => {
    const expiresAt = new Date(Date.now() + 300);
    const s = await a.sessions.createSession('cleanup-user', {}, { expiresAt });
    await b.sessions.getSession(s.id);
    await waitUntilPast(expiresAt);
    const heard = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    assert.ok((await a.sessions.cleanupExpiredSessions()) >= 1);
    await heard;
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE id = $1`, [s.id]);
    assert.equal(row!.n, 0);
  });

  it('server connections killed under load (pg_terminate_backend, then KILL on the admin console): each call settles, later calls succeed', async () => {
    let stop = false;
    let ok = 0;
    const errors: unknown[] = [];
    const load = Array.from({ length: 8 }, async (_, caller) => {
      const node = caller % 2 === 0 ? a : b;
      const deadline = Date.now() + 90_000;
      while (!stop && Date.now() < deadline) {
        // A call that rejects without I/O must not starve the event loop (and the test's timers).
        await new Promise((resolve) => setImmediate(resolve));
        const work = (async () => {
          const s = await node.sessions.createSession(`kill-user-${caller}`, { n: { value: 0 } });
          const read = await node.sessions.getSession(s.id, { forceRefresh: true });
          read.setAttribute('n', 1);
          await node.sessions.updateSession(read, { checkAttributeVersion: true });
          await node.sessions.deleteSession(s.id);
        })();
        const settled = await settleWithin(work, 20_000, 'a call while server connections were killed');
        if (settled.status === 'fulfilled') ok++;
        else errors.push(settled.reason);
      }
    });
    const killServers = () =>
      db.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'nestjs-pg-session listener'`,
      );
    try {
      await waitFor(() => ok >= 5, 'some calls to succeed before the kill', 20_000);
      await killServers();
      const afterTerminate = ok;
      await waitFor(() => ok >= afterTerminate + 5, 'calls to succeed after pg_terminate_backend', 20_000);
      await adminCommand(bouncer, `KILL "${db.name}"`);
      await adminCommand(bouncer, `RESUME "${db.name}"`);
      const afterKill = ok;
      await waitFor(() => ok >= afterKill + 5, 'calls to succeed after KILL on the admin console', 20_000);
    } finally {
      stop = true;
      await Promise.all(load);
    }
    for (const err of errors) assert.ok(err instanceof Error, `a call rejected with a non-Error: ${String(err)}`);
    // Both nodes keep working through the pooler, and still hear each other.
    const s = await a.sessions.createSession('after-kill');
    await b.sessions.getSession(s.id);
    const heard = nextChange(b, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    const read = await a.sessions.getSession(s.id);
    read.setAttribute('k', 1);
    await a.sessions.updateSession(read);
    await heard;
    assert.equal((await b.sessions.getSession(s.id)).getAttribute('k'), 1);
  });
});

describe('finding a transaction pooler at start', () => {
  let db: TestDatabase;
  let transactionMode: Pgbouncer;
  let sessionMode: Pgbouncer;

  before(async () => {
    db = await createTestDatabase();
    transactionMode = await startPgbouncer(serverUrl(), { poolMode: 'transaction', poolSize: 5 });
    sessionMode = await startPgbouncer(serverUrl(), { poolMode: 'session', poolSize: 5 });
  });

  after(async () => {
    await transactionMode?.stop();
    await sessionMode?.stop();
    await assertNoOpenHandles();
    await db?.drop();
  });

  async function probe(url: string, max: number): Promise<boolean> {
    const pool = new pg.Pool({ connectionString: url, max });
    try {
      return await detectTransactionPooler(pool);
    } finally {
      await pool.end();
    }
  }

  it('the probe finds PgBouncer in transaction mode (also with a pool of one), and nothing on a direct connection or in session mode', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal(await probe(transactionMode.url(db.name), 10), true, 'transaction mode, pool of 10');
      assert.equal(await probe(transactionMode.url(db.name), 1), true, 'transaction mode, pool of 1');
      assert.equal(await probe(db.url, 10), false, 'direct');
      assert.equal(await probe(db.url, 1), false, 'direct, pool of 1');
      assert.equal(await probe(sessionMode.url(db.name), 10), false, 'session mode');
    }
  });

  it('the probe finds PgBouncer with server_round_robin (oldest server first) when two servers are idle', async () => {
    const roundRobin = await startPgbouncer(serverUrl(), { poolMode: 'transaction', poolSize: 5, extra: { server_round_robin: 1 } });
    try {
      for (let i = 0; i < 3; i++) {
        // Two server connections opened and released: the pooler now holds exactly two idle ones.
        const warm = new pg.Pool({ connectionString: roundRobin.url(db.name), max: 2 });
        await Promise.all([0, 1].map(() => warm.query('SELECT pg_sleep(0.05)')));
        await warm.end();
        assert.equal(await probe(roundRobin.url(db.name), 10), true, `round ${i}`);
      }
    } finally {
      await roundRobin.stop();
    }
  });

  it('a listenConnectionString that itself goes through the transaction pooler fails start naming that option', async () => {
    const err = await startNode(transactionMode.url(db.name), { listenConnectionString: transactionMode.url(db.name) }).then(
      async (node) => {
        await node.close();
        return null;
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, 'start should fail');
    assert.match(err.message, /"listenConnectionString" goes through a pooler in transaction mode/);
  });

  it('through a transaction pooler without listenConnectionString, start fails naming that option and leaves nothing open', async () => {
    const err = await startNode(transactionMode.url(db.name)).then(
      async (node) => {
        await node.close();
        return null;
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, 'start should fail');
    assert.match(err.message, /"listenConnectionString"/);
    assert.match(err.message, /transaction mode/);
    // The failed start closed its pool and timers (the PgBouncer processes stay until `after`).
    const leftOpen = () => process.getActiveResourcesInfo().filter((r) => r !== 'ProcessWrap' && r !== 'PipeWrap' && r !== 'TTYWrap');
    await waitFor(() => leftOpen().length === 0, `nothing left open (open: ${leftOpen().join(', ')})`, 2000);
  });

  it("'auto' picks unnamed statements behind the pooler (and says so), named ones on a direct connection or in session mode; an explicit choice is kept", async () => {
    const cases: Array<[string, Partial<SessionModuleOptions>, boolean]> = [
      ['auto through transaction mode', { connectionString: transactionMode.url(db.name), listenConnectionString: db.url }, false],
      ['auto direct', { connectionString: db.url }, true],
      ['auto through session mode', { connectionString: sessionMode.url(db.name) }, true],
      ['true through transaction mode', { connectionString: transactionMode.url(db.name), listenConnectionString: db.url, preparedStatements: true }, true],
      ['false direct', { connectionString: db.url, preparedStatements: false }, false],
    ];
    for (const [what, options, named] of cases) {
      const node = await startNode(options.connectionString!, options);
      try {
        assert.equal(node.app.get<SessionDatabase>(SESSION_DATABASE).namedStatements, named, what);
        const said = node.logger.lines.some((l) => /pooler in transaction mode: using unnamed statements/.test(l.message));
        assert.equal(said, what === 'auto through transaction mode', `${what}: the log line`);
        // Each choice works for a create / read / update round trip (named statements behind a
        // transaction pooler without max_prepared_statements are what this test file shows failing).
        if (what === 'true through transaction mode') continue;
        const s = await node.sessions.createSession(`u-${what}`, { v: { value: 1 } });
        const read = await node.sessions.getSession(s.id, { forceRefresh: true });
        read.setAttribute('v', 2);
        await node.sessions.updateSession(read, { checkAttributeVersion: true });
      } finally {
        await node.close();
      }
    }
  });
});
