import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  LockNotHeldError,
  LockService,
  SessionConflictError,
  SessionError,
  SessionNotFoundError,
  type Session,
} from '../../lib/index.js';
import { SessionStore, type UpdateCommand, type UpdateResult } from '../../lib/store/session.store.js';
import { SESSION_DATABASE } from '../../lib/options/internal.tokens.js';
import type { SessionDatabase } from '../../lib/store/session.database.js';
import { SessionSync } from '../../lib/sync/session-sync.service.js';
import { LastAccessWriter } from '../../lib/workers/last-access.writer.js';
import { useTestDatabase } from '../support/database.js';
import { useOwnServer } from '../support/embedded-server.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { lockRow } from '../support/lock-rows.js';
import { nextStatus, startNode, type TestNode } from '../support/nodes.js';
import { waitFor, waitUntilPast } from '../support/wait.js';

/**
 * Holds the next call of `object[method]` after the database answered, until released:
 * what a slow network or a loaded node does to a query's result, made deterministic.
 * Later calls pass straight through.
 */
function holdNextResult<T extends object, K extends keyof T>(object: T, method: K) {
  const original = object[method] as unknown as (...args: unknown[]) => Promise<unknown>;
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const answered = new Promise<void>((resolve) => (reached = resolve));
  let used = false;
  (object as Record<K, unknown>)[method] = async (...args: unknown[]) => {
    if (used) return original.apply(object, args);
    used = true;
    const result = await original.apply(object, args);
    reached();
    await released;
    return result;
  };
  return {
    /** Resolves once the held call's query has answered. */
    answered,
    release,
    restore: () => ((object as Record<K, unknown>)[method] = original),
  };
}

/** Connections in the pool of a module that creates its own DataSource. */
const POOL_SIZE = 10;

function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('integrity under outages and hostile input', () => {
  const db = useTestDatabase();

  describe('1. a read or write spanning a LISTEN outage never caches what the gap made stale', () => {
    it('a miss and an update that began while the listener was down do not cache a session deleted meanwhile', async () => {
      // The listener uses a role of its own, so the test can keep it from reconnecting.
      const role = `listener_${randomBytes(4).toString('hex')}`;
      await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'listener'`);
      const listenUrl = new URL(db.url);
      listenUrl.username = role;
      listenUrl.password = 'listener';
      const a = await startNode(db.url, { listenConnectionString: listenUrl.toString(), reconnectInterval: 20 });
      const b = await startNode(db.url);
      try {
        const readMe = await b.sessions.createSession('outage-read');
        const writeMe = await b.sessions.createSession('outage-write', { n: { value: 0 } });
        const copy = await a.sessions.getSession(writeMe.id);

        await db.query(`ALTER ROLE ${role} NOLOGIN`);
        const down = nextStatus(a, 'reconnecting');
        await db.query('SELECT pg_terminate_backend($1)', [a.app.get(SessionSync).listenerPid]);
        await down;

        const store = a.app.get(SessionStore);
        const heldRead = holdNextResult(store, 'get');
        const reading = a.sessions.getSession(readMe.id);
        await heldRead.answered;
        heldRead.restore();
        const heldWrite = holdNextResult(store, 'update');
        copy.setAttribute('n', 1);
        const writing = a.sessions.updateSession(copy);
        await heldWrite.answered;
        heldWrite.restore();

        // B logs both out while A is deaf; A resyncs before its slow operations return.
        await b.sessions.deleteSession(readMe.id);
        await b.sessions.deleteSession(writeMe.id);
        const resynced = nextStatus(a, 'resynced');
        await db.query(`ALTER ROLE ${role} LOGIN`);
        await resynced;
        heldRead.release();
        heldWrite.release();
        await reading;
        await writing;

        await assert.rejects(a.sessions.getSession(readMe.id), SessionNotFoundError, 'A serves a session deleted during its outage');
        await assert.rejects(a.sessions.getSession(writeMe.id), SessionNotFoundError, 'A serves a session deleted during its outage');
      } finally {
        await a.close();
        await b.close();
        await db.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });
  });

  describe('2. bad input is refused before it is queued, and never fails other callers', () => {
    let node: TestNode;
    before(async () => {
      node = await startNode(db.url);
    });
    after(async () => {
      await node.close();
    });

    it('NUL and lone surrogates in ids and keys, and dates PostgreSQL cannot store, are TypeErrors naming the field', async () => {
      const s = await node.sessions.createSession('validator');
      for (const bad of ['bad\u0000id', 'lone\uD800', 'lone\uDC00x']) {
        await assert.rejects(node.sessions.createSession(bad), (err: unknown) => err instanceof TypeError && /userId/.test(err.message));
        await assert.rejects(node.sessions.createSession('u', {}, { groupId: bad }), (err: unknown) => err instanceof TypeError && /groupId/.test(err.message));
        await assert.rejects(node.sessions.createSession('u', { [bad]: { value: 1 } }), (err: unknown) => err instanceof TypeError && /key/i.test(err.message));
        const read = await node.sessions.getSession(s.id);
        assert.throws(() => read.setAttribute(bad, 1), (err: unknown) => err instanceof TypeError && /key/i.test(err.message));
        assert.throws(() => (read.groupId = bad), (err: unknown) => err instanceof TypeError && /groupId/.test(err.message));
        await assert.rejects(node.sessions.deleteAllUserSessions(bad), (err: unknown) => err instanceof TypeError && /userId/.test(err.message));
        await assert.rejects(node.sessions.deleteAttributeFromAllUserSessions('u', bad), TypeError);
        assert.throws(() => node.app.get(LockService).createLock(s.id, bad), TypeError);
      }
      // A valid pair of surrogates is a character like any other.
      const emoji = await node.sessions.createSession('user-\uD83D\uDE00', { 'key-\uD83D\uDE00': { value: 1 } });
      assert.equal((await node.sessions.getSession(emoji.id, { forceRefresh: true })).getAttribute('key-\uD83D\uDE00'), 1);

      for (const date of [new Date(-8.64e15), new Date(-300_000_000_000_000)]) {
        await assert.rejects(node.sessions.createSession('u', {}, { expiresAt: date }), (err: unknown) => err instanceof TypeError && /expiresAt/.test(err.message));
        await assert.rejects(node.sessions.createSession('u', { a: { value: 1, expiresAt: date } }), (err: unknown) => err instanceof TypeError && /expiresAt/.test(err.message));
        const read = await node.sessions.getSession(s.id);
        assert.throws(() => read.setAttribute('a', 1, { expiresAt: date }), (err: unknown) => err instanceof TypeError && /expiresAt/.test(err.message));
        await assert.rejects(node.sessions.updateSession(read, { expiresAt: date }), (err: unknown) => err instanceof TypeError && /expiresAt/.test(err.message));
      }
      const [{ version }] = await db.query<{ version: number }>('SELECT version FROM sessions WHERE id = $1', [s.id]);
      assert.equal(version, 1, 'nothing was written');
    });

    it('a coalesced batch with a statement PostgreSQL rejects fails only the guilty update', async () => {
      const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => node.sessions.createSession(`batch-${i}`, { n: { value: 0 } })));
      const store = node.app.get(SessionStore);
      // Straight to the store, past the validators: the second line of defence.
      const commands: UpdateCommand[] = ids.map((s, i) => ({
        id: s.id, checkVersion: false, expectedVersion: 1, checkedKeys: [], checkedVersions: [],
        setKeys: [i === 6 ? 'bad\u0000key' : 'n'], setValues: ['1'], setExpiries: [null], deleteKeys: [],
        groupChanged: false, groupId: null, expiresAt: null, includeInactivity: null,
        notifyOnSuccess: true, notifyOnFailure: false, lastAccess: null,
        base: (s as unknown as { snapshot: UpdateCommand['base'] }).snapshot,
      }) as UpdateCommand);
      const results = await Promise.allSettled(commands.map((cmd) => store.update(cmd)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
      assert.deepEqual(failed, [6], `only the bad update fails (${results.map((r) => (r.status === 'rejected' ? String(r.reason) : (r.value as UpdateResult).kind)).join(', ')})`);
      assert.equal((results[6] as PromiseRejectedResult).reason.code, '22021');
      const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM session_attributes WHERE key = 'n' AND value = '1' AND session_id = ANY($1::uuid[])`, [ids.map((s) => s.id)]);
      assert.equal(rows[0]!.n, 7);
    });

    it('six concurrent updates through the service, one with a bad key: only that caller gets an error', async () => {
      const sessions = await Promise.all(Array.from({ length: 6 }, (_, i) => node.sessions.createSession(`svc-batch-${i}`)));
      const results = await Promise.allSettled(
        sessions.map(async (s, i) => {
          const read = await node.sessions.getSession(s.id);
          read.setAttribute(i === 5 ? 'bad\u0000key' : 'ok', i);
          return node.sessions.updateSession(read);
        }),
      );
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      assert.ok((results[5] as PromiseRejectedResult).reason instanceof TypeError);
    });
  });

  describe('3. a committed write is never reported as a plain failure, and the writer never keeps a stale copy', () => {
    it('a batch row that cannot be decoded fails no other caller', async () => {
      const node = await startNode(db.url);
      try {
        const sessions = await Promise.all(Array.from({ length: 6 }, (_, i) => node.sessions.createSession(`decode-${i}`)));
        const store = node.app.get(SessionStore);
        // A lone surrogate reaches the database as U+FFFD: the key comes back different.
        const results = await Promise.allSettled(sessions.map((s, i) => store.update({
          id: s.id, checkVersion: false, expectedVersion: 1, checkedKeys: [], checkedVersions: [],
          setKeys: [i === 5 ? 'odd\uD800' : 'n'], setValues: ['1'], setExpiries: [null], deleteKeys: [],
          groupChanged: false, groupId: null, expiresAt: null, includeInactivity: null,
          notifyOnSuccess: true, notifyOnFailure: false, lastAccess: null,
          base: (s as unknown as { snapshot: UpdateCommand['base'] }).snapshot,
        } as UpdateCommand)));
        for (const [i, r] of results.slice(0, 5).entries()) {
          assert.equal(r.status, 'fulfilled', `caller ${i}: ${r.status === 'rejected' ? String(r.reason) : ''}`);
          assert.equal((r as PromiseFulfilledResult<UpdateResult>).value.kind, 'ok');
        }
      } finally {
        await node.close();
      }
    });

    describe('commits whose outcome the client cannot know (connection lost while COMMIT waits)', () => {
      const server = useOwnServer();

      const admin = <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> => server.query<R>(text, values);

      /**
       * Runs `write` while every commit waits for a synchronous standby that does not
       * exist, then terminates the waiting backend: the transaction is committed locally,
       * and the client only learns that its connection died.
       */
      /**
       * Reloads the server's configuration and waits until `node`'s pooled connections
       * use it: the postmaster applies a reload asynchronously, and an idle backend only
       * after it ran its next command, so every pooled connection runs one (at once, so
       * each is a different one; a statement without writes never waits for a standby).
       */
      async function reload(node: TestNode, expected: string): Promise<void> {
        await admin('SELECT pg_reload_conf()');
        await waitFor(async () => (await admin<{ v: string }>('SELECT current_setting($1) AS v', ['synchronous_standby_names']))[0]!.v === expected, 'the reload');
        const database = node.app.get<SessionDatabase>(SESSION_DATABASE);
        await Promise.all(Array.from({ length: POOL_SIZE }, () => database.query('SELECT pg_sleep(0.05)')));
      }

      async function withCommitLost(node: TestNode, write: () => Promise<unknown>): Promise<unknown> {
        await admin(`ALTER SYSTEM SET synchronous_standby_names = 'nobody'`);
        await reload(node, 'nobody');
        try {
          let settled = false;
          const outcome = write().then(
            () => null,
            (err: unknown) => err,
          ).finally(() => (settled = true));
          await waitFor(async () => {
            if (settled) assert.fail(`the write ended before its commit waited: ${String(await outcome)}`);
            const rows = await admin<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'`);
            for (const { pid } of rows) await admin('SELECT pg_terminate_backend($1)', [pid]);
            return rows.length > 0;
          }, 'a commit waiting for the standby');
          return await outcome;
        } finally {
          await admin(`ALTER SYSTEM RESET synchronous_standby_names`);
          await reload(node, '');
        }
      }

      function assertUnknownOutcome(err: unknown): void {
        assert.ok(err instanceof SessionError, `expected a SessionError, got ${String(err)}`);
        assert.equal(err.code, 'COMMIT_OUTCOME_UNKNOWN');
      }

      it('update, delete, regenerate and create: the caller is told the outcome is unknown, and the writer re-reads', async () => {
        const node = await startNode(server.url, { maxSessions: 1 });
        try {
          const s = await node.sessions.createSession('ambiguous', { n: { value: 1 } });
          const read = await node.sessions.getSession(s.id);
          assert.equal((await node.sessions.getSession(s.id)).fromCache, true);
          read.setAttribute('n', 2);
          assertUnknownOutcome(await withCommitLost(node, () => node.sessions.updateSession(read)));
          const [{ version }] = await admin<{ version: number }>('SELECT version FROM sessions WHERE id = $1', [s.id]);
          assert.equal(version, 2, 'the update committed');
          assert.equal((await node.sessions.getSession(s.id)).version, 2, 'the writer serves what the database committed');

          const again = await node.sessions.getSession(s.id);
          again.setAttribute('n', 3);
          assertUnknownOutcome(await withCommitLost(node, () => node.sessions.regenerateSession(again)));
          await assert.rejects(node.sessions.getSession(s.id), SessionNotFoundError, 'the regenerated-away id is gone');

          const other = await node.sessions.createSession('ambiguous-delete');
          await node.sessions.getSession(other.id);
          assertUnknownOutcome(await withCommitLost(node, () => node.sessions.deleteSession(other.id)));
          await assert.rejects(node.sessions.getSession(other.id), SessionNotFoundError, 'the writer serves a deleted session');

          const first = await node.sessions.createSession('evicted');
          await node.sessions.getSession(first.id);
          assertUnknownOutcome(await withCommitLost(node, () => node.sessions.createSession('evicted')));
          await assert.rejects(node.sessions.getSession(first.id), SessionNotFoundError, 'the writer serves a session the create evicted');
        } finally {
          await node.close();
        }
      });
    });
  });

  describe('4. checkAttributeVersion is not fooled by delete-and-recreate', () => {
    it('an attribute deleted and set again gets a version it never had', async () => {
      const a = await startNode(db.url);
      const b = await startNode(db.url);
      try {
        const s = await a.sessions.createSession('aba', { cart: { value: ['A'] } });
        const readByA: Session = await a.sessions.getSession(s.id);
        assert.equal(readByA.getAttributeRecord('cart')!.version, 1);

        const deleting = await b.sessions.getSession(s.id);
        deleting.deleteAttribute('cart');
        const deleted = await b.sessions.updateSession(deleting);
        deleted.setAttribute('cart', ['B-only']);
        const recreated = await b.sessions.updateSession(deleted);
        assert.notEqual(recreated.getAttributeRecord('cart')!.version, 1);

        readByA.setAttribute('cart', ['A', 'more']);
        const err = await rejectionOf(a.sessions.updateSession(readByA, { checkAttributeVersion: true }));
        assert.ok(err instanceof SessionConflictError);
        assert.equal(err.attribute, 'cart');
        const [{ value }] = await db.query<{ value: string }>(`SELECT value FROM session_attributes WHERE session_id = $1 AND key = 'cart'`, [s.id]);
        assert.deepEqual(JSON.parse(value), ['B-only'], "B's write is kept");

        // the same in the coalesced form: several updates in flight at once
        const many = await Promise.all(Array.from({ length: 6 }, (_, i) => a.sessions.createSession(`aba-${i}`, { cart: { value: [i] } })));
        const stale = await Promise.all(many.map((m) => a.sessions.getSession(m.id)));
        for (const m of many) {
          const d = await b.sessions.getSession(m.id);
          d.deleteAttribute('cart');
          const gone = await b.sessions.updateSession(d);
          gone.setAttribute('cart', ['B-only']);
          await b.sessions.updateSession(gone);
        }
        const results = await Promise.allSettled(stale.map((r) => {
          r.setAttribute('cart', ['A']);
          return a.sessions.updateSession(r, { checkAttributeVersion: true });
        }));
        assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof SessionConflictError), 'every checked write conflicts');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('5. writes refuse a session that is idle too long', () => {
    it('update, regenerate and lock() of an idle-expired session fail with SessionNotFoundError and revive nothing', async () => {
      const node = await startNode(db.url, { inactivityDuration: 1000, lastAccessUpdateInterval: 400 });
      const other = await startNode(db.url, { inactivityDuration: 1000, lastAccessUpdateInterval: 400 });
      try {
        const s = await node.sessions.createSession('idle');
        const forUpdate = await node.sessions.getSession(s.id, { updateLastAccess: false });
        const forRegenerate = await node.sessions.getSession(s.id, { updateLastAccess: false });
        await waitUntilPast(forUpdate.lastAccessed.getTime() + 1000);
        forUpdate.setAttribute('x', 1);
        await assert.rejects(node.sessions.updateSession(forUpdate), SessionNotFoundError);
        await assert.rejects(node.sessions.regenerateSession(forRegenerate), SessionNotFoundError);
        await assert.rejects(node.app.get(LockService).createLock(s.id, 'idle').lock(), SessionNotFoundError);
        await assert.rejects(node.sessions.getSession(s.id), SessionNotFoundError);
        await assert.rejects(other.sessions.getSession(s.id), SessionNotFoundError);
        const [{ version, n }] = await db.query<{ version: number; n: number }>(
          `SELECT s.version, (SELECT count(*)::int FROM sessions WHERE user_id = 'idle') AS n FROM sessions s WHERE s.user_id = 'idle'`);
        assert.equal(version, 1, 'nothing was written');
        assert.equal(n, 1, 'regenerate made no new session');
      } finally {
        await node.close();
        await other.close();
      }
    });

    it('a write still succeeds when only this node knows of a recent access', async () => {
      const node = await startNode(db.url, { inactivityDuration: 3000, lastAccessUpdateInterval: 60_000 });
      try {
        const s = await node.sessions.createSession('idle-but-accessed');
        const created = s.lastAccessed.getTime();
        await waitUntilPast(created + 2000);
        const read = await node.sessions.getSession(s.id); // recorded in memory only
        // Past the idle limit by the stored access, well within it by this node's.
        await waitUntilPast(created + 3100);
        read.setAttribute('x', 1);
        const saved = await node.sessions.updateSession(read);
        assert.equal(saved.version, 2);
      } finally {
        await node.close();
      }
    });
  });

  describe('6. node clocks do not leak into stored times', () => {
    it('a flushed access from a node whose clock runs ahead is capped at the database clock', async () => {
      const node = await startNode(db.url);
      try {
        const s = await node.sessions.createSession('skew');
        node.app.get(LastAccessWriter).record(s.id, Date.now() + 3_600_000);
        await node.sessions.flushLastAccess();
        const [{ ahead }] = await db.query<{ ahead: boolean }>('SELECT last_accessed > now() AS ahead FROM sessions WHERE id = $1', [s.id]);
        assert.equal(ahead, false, 'last_accessed was written in the future');
      } finally {
        await node.close();
      }
    });
  });

  describe('7. unlock() tells a holder that it was not exclusive', () => {
    let a: TestNode;
    let b: TestNode;
    before(async () => {
      a = await startNode(db.url);
      b = await startNode(db.url);
    });
    after(async () => {
      await a.close();
      await b.close();
    });

    it('after the lease ran out, after a takeover, when the database dropped it, and the second time', async () => {
      const s = await a.sessions.createSession('unlock-lost');
      const locks = a.app.get(LockService);
      const short = locks.createLock(s.id, 'short', { leaseTime: 300, heartbeatInterval: 300 });
      await short.lock();
      await waitFor(() => short.signal.aborted, 'the lease to run out', 5000);
      await assert.rejects(short.unlock(), LockNotHeldError);

      const taken = locks.createLock(s.id, 'taken', { leaseTime: 300, heartbeatInterval: 300 });
      await taken.lock();
      await waitFor(() => taken.signal.aborted, 'the lease to run out', 5000);
      const successor = b.app.get(LockService).createLock(s.id, 'taken', { maxRetries: 50, retryDelay: 20 });
      await successor.lock();
      await assert.rejects(taken.unlock(), LockNotHeldError);
      assert.equal((await lockRow(db, s.id, 'taken'))!.live, true, "the successor's lease is untouched");
      await successor.unlock();

      // The database says it is gone while this node still believes it holds it.
      const dropped = locks.createLock(s.id, 'dropped', { leaseTime: 30_000, heartbeatInterval: 30_000 });
      await dropped.lock();
      await db.query(`UPDATE session_locks SET expires_at = now() - interval '1 millisecond' WHERE session_id = $1 AND resource = 'dropped'`, [s.id]);
      assert.equal(dropped.isHeld, true);
      await assert.rejects(dropped.unlock(), LockNotHeldError);

      const twice = locks.createLock(s.id, 'twice');
      await twice.lock();
      await twice.unlock();
      await assert.rejects(twice.unlock(), LockNotHeldError);
    });

    it('withLock rejects with the lock error when fn succeeded but the lock was lost; rethrows fn\'s own error', async () => {
      const s = await a.sessions.createSession('withlock-lost');
      const locks = a.app.get(LockService);
      const err = await rejectionOf(
        locks.withLock(s.id, 'job', async (lock) => {
          await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve(), { once: true }));
          return 'done';
        }, { leaseTime: 300, heartbeatInterval: 300 }),
      );
      assert.ok(err instanceof LockNotHeldError, `got ${String(err)}`);

      const own = new Error('fn failed');
      const thrown = await rejectionOf(
        locks.withLock(s.id, 'job2', async (lock) => {
          await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve(), { once: true }));
          throw own;
        }, { leaseTime: 300, heartbeatInterval: 300 }),
      );
      assert.equal(thrown, own);
      assert.equal(await locks.withLock(s.id, 'job3', async (lock) => (await lock.unlock(), 'released early')), 'released early');
    });
  });

  after(async () => {
    await assertNoOpenHandles();
  });
});
