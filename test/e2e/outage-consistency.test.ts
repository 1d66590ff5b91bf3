// Three nodes under concurrent reads, checked increments and deletes, while their
// LISTEN backends are terminated again and again and the server is restarted once.
// Checked at every step: no node reads a deleted session once it heard of the delete,
// no node reads a version older than an acknowledged write once it heard of a later
// commit, and no acknowledged increment is lost.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { filter, firstValueFrom, merge, map, timeout } from 'rxjs';
import { CommitOutcomeUnknownError, SessionConflictError, SessionNotFoundError, SessionNotifications } from '../../lib/index.js';
import { SessionStore } from '../../lib/store/session.store.js';
import { SessionSync } from '../../lib/sync/session-sync.service.js';
import { useOwnServer } from '../support/embedded-server.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextStatus, startNode, type TestNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

const SESSIONS = 12;
/** Sessions deleted while a listener is down. */
const DOOMED = 4;

/** What the workload was told: every acknowledged write and delete. */
interface Ledger {
  /** Highest acknowledged version per session. */
  version: Map<string, number>;
  /** Acknowledged increments per session. */
  increments: Map<string, number>;
  /** Increments whose commit outcome the caller was told is unknown. */
  unknown: Map<string, number>;
  /** Sessions whose deletion was acknowledged. */
  deleted: Set<string>;
  /** Errors that are not an expected failure of an operation during a fault. */
  unexpected: unknown[];
}

const bump = (map: Map<string, number>, id: string, by = 1) => map.set(id, (map.get(id) ?? 0) + by);

/** True for the errors an operation may get while the database or a connection is down. */
function isOutageError(err: unknown): boolean {
  if (err instanceof CommitOutcomeUnknownError) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || /^E[A-Z]+$/.test(code))) return true;
  return err instanceof Error && /terminat|connect|Connection|timeout/i.test(err.message);
}

function workload(nodes: TestNode[], ids: string[], ledger: Ledger) {
  let running = true;
  const loops = nodes.flatMap((node, n) =>
    [0, 1, 2].map(async (w) => {
      let round = 0;
      while (running) {
        round++;
        const id = ids[(round * 7 + w * 3 + n) % ids.length]!;
        try {
          if (w === 0) {
            await node.sessions.getSession(id);
          } else {
            const s = await node.sessions.getSession(id);
            s.setAttribute('n', (s.getAttribute<number>('n') ?? 0) + 1);
            try {
              const saved = await node.sessions.updateSession(s, { checkAttributeVersion: true });
              bump(ledger.increments, id);
              ledger.version.set(id, Math.max(ledger.version.get(id) ?? 0, saved.version));
            } catch (err) {
              if (err instanceof CommitOutcomeUnknownError) bump(ledger.unknown, id);
              throw err;
            }
          }
        } catch (err) {
          if (!(err instanceof SessionConflictError || err instanceof SessionNotFoundError || isOutageError(err))) ledger.unexpected.push(err);
          // Back off a little after a failure, so an outage is not a busy loop.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

/**
 * Holds the result of `node`'s next database read of session `id` (after the database
 * answered) until released: a read slowed down by the load that tripped the heartbeat.
 */
function holdReadOf(node: TestNode, id: string) {
  const store = node.app.get(SessionStore);
  const original = store.get.bind(store);
  let release!: () => void;
  let answered!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (answered = resolve));
  let held = false;
  store.get = async (sessionId: string) => {
    if (held || sessionId !== id) return original(sessionId);
    held = true;
    const result = await original(sessionId);
    store.get = original;
    answered();
    await released;
    return result;
  };
  return { reached, release };
}

/**
 * Resolves once `node` is sure to have applied every commit made before `marker()`
 * ran: it heard the marker's notification (they arrive in commit order), or it
 * re-checked its cache after a LISTEN gap that began after the marker's commit.
 */
async function caughtUp(node: TestNode, markerUser: string, marker: () => Promise<void>): Promise<void> {
  const notifications = node.app.get(SessionNotifications);
  const heard = firstValueFrom(
    merge(
      notifications.changes$.pipe(filter((c) => c.type === 'user' && c.ids.includes(markerUser)), map(() => 'heard')),
      notifications.status$.pipe(filter((s) => s === 'resynced')),
    ).pipe(timeout(60_000)),
  );
  await marker();
  await heard;
}

describe('consistency through listener kills and a server restart (3 nodes)', () => {
  const server = useOwnServer();
  after(() => assertNoOpenHandles());

  it('no lost increment, no read of a heard-of delete, no read older than a heard-of acknowledged write', async () => {
    // The listeners log in with a role of their own, so a gap can be held open.
    await server.query(`CREATE ROLE listener LOGIN PASSWORD 'listener'`);
    const listenUrl = new URL(server.url);
    listenUrl.username = 'listener';
    listenUrl.password = 'listener';
    const nodes = await Promise.all(
      [0, 1, 2].map(() => startNode(server.url, { reconnectInterval: 50, maxSessions: 100, listenConnectionString: listenUrl.toString() })),
    );
    const ledger: Ledger = { version: new Map(), increments: new Map(), unknown: new Map(), deleted: new Set(), unexpected: [] };
    let checks = 0;
    try {
      const ids = (await Promise.all(Array.from({ length: SESSIONS }, (_, i) => nodes[(i + 1) % 3]!.sessions.createSession(`fault-${i}`, { n: { value: 0 } })))).map((s) => s.id);
      // The sessions to be deleted are read only by the checks and the held reads: a
      // workload read of one during a gap would re-stamp it and hide a stale cache fill.
      const stop = workload(nodes, ids.slice(DOOMED), ledger);

      /** Writes a marker on `writer` (a notified commit), retrying through an outage. */
      const writeMarker = async (writer: TestNode, user: string): Promise<void> => {
        for (;;) {
          try {
            await writer.sessions.createSession(user);
            await writer.sessions.deleteAllUserSessions(user);
            return;
          } catch (err) {
            if (!isOutageError(err)) throw err;
            await waitFor(() => writer.sessions.stats().listening, 'the writer to be back', 60_000);
          }
        }
      };

      /**
       * One check round: each node waits for a marker committed by another node after the
       * round began, then every session is read on it and checked against what was
       * acknowledged before the round began.
       */
      const check = async (round: number): Promise<void> => {
        const version = new Map(ledger.version);
        const deleted = new Set(ledger.deleted);
        await Promise.all(nodes.map((node, i) => {
          const user = `marker-${round}-${i}`;
          return caughtUp(node, user, () => writeMarker(nodes[(i + 1) % 3]!, user));
        }));
        for (const [n, node] of nodes.entries()) {
          // A session still to be deleted is not read before: a node that never cached it
          // has nothing for its resync to re-check, only the held read can bring it back.
          for (const id of ids.filter((x) => deleted.has(x) || !ids.slice(0, DOOMED).includes(x))) {
            let seen: { version: number } | undefined;
            try {
              seen = await node.sessions.getSession(id);
            } catch (err) {
              if (err instanceof SessionNotFoundError || isOutageError(err)) continue;
              throw err;
            }
            checks++;
            assert.ok(!deleted.has(id), `round ${round}: node ${n} read session ${id} after it heard of its deletion`);
            assert.ok(seen.version >= (version.get(id) ?? 0), `round ${round}: node ${n} read version ${seen.version} of ${id} after hearing of version ${version.get(id)}`);
          }
        }
      };

      let round = 0;
      try {
        // Listener backends terminated again and again, one node at a time.
        for (let kill = 0; kill < 9; kill++) {
          const victim = nodes[kill % 3]!;
          const resynced = nextStatus(victim, 'resynced');
          if (kill < DOOMED) {
            // A logout on another node while the victim is deaf, with one of the victim's
            // reads of that session begun during the gap and answered only after the resync.
            const doomed = ids[kill]!;
            await server.query('ALTER ROLE listener NOLOGIN');
            const down = nextStatus(victim, 'reconnecting');
            await server.query('SELECT pg_terminate_backend($1)', [victim.app.get(SessionSync).listenerPid]);
            await down;
            const slow = holdReadOf(victim, doomed);
            const reading = victim.sessions.getSession(doomed).catch(() => undefined);
            await slow.reached;
            await nodes[(kill + 1) % 3]!.sessions.deleteSession(doomed);
            ledger.deleted.add(doomed);
            await server.query('ALTER ROLE listener LOGIN');
            await resynced;
            slow.release();
            await reading;
            await check(round++);
            continue;
          }
          await server.query('SELECT pg_terminate_backend($1)', [victim.app.get(SessionSync).listenerPid]);
          await check(round++);
          await resynced;
          await check(round++);
        }
        // The server stopped and started again.
        const down = nodes.map((n) => nextStatus(n, 'reconnecting', 30_000));
        await server.pause();
        await Promise.all(down);
        const back = nodes.map((n) => nextStatus(n, 'resynced', 60_000));
        await server.start();
        await Promise.all(back);
        for (let i = 0; i < 3; i++) await check(round++);
      } finally {
        await stop();
      }

      assert.deepEqual(ledger.unexpected.map(String), [], 'only expected failures during the faults');
      assert.ok(checks > 100, `enough reads were checked (${checks})`);
      assert.equal(ledger.deleted.size, DOOMED, 'the workload deleted its sessions');
      assert.ok([...ledger.increments.values()].reduce((a, b) => a + b, 0) > 50, 'the workload made progress');
      const rows = await server.query<{ id: string; n: string }>(`SELECT session_id AS id, value AS n FROM session_attributes WHERE key = 'n'`);
      const stored = new Map(rows.map((r) => [r.id, Number(r.n)]));
      for (const id of ids) {
        if (ledger.deleted.has(id)) {
          assert.equal(stored.has(id), false, `deleted session ${id} is gone`);
          continue;
        }
        const acked = ledger.increments.get(id) ?? 0;
        const unknown = ledger.unknown.get(id) ?? 0;
        const value = stored.get(id)!;
        assert.ok(value >= acked && value <= acked + unknown, `session ${id}: stored ${value}, acknowledged ${acked}, unknown ${unknown}`);
      }
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
