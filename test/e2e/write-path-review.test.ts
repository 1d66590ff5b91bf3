import pg from 'pg';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SessionConflictError, type Session } from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { nextChange, startNode, type TestNode, recordUpdateBatches } from '../support/nodes.js';
import { uncommittedChange } from '../support/other-writer.js';
import { waitFor, waitUntilPast } from '../support/wait.js';

/**
 * Review of issue 13's write path (group commit, no snap CTE, attributes at the
 * session's version, one json row per batch). Each test states the guarantee it checks.
 */
const db = useTestDatabase();

describe('write path review (issue 13)', () => {
  let a: TestNode;
  let b: TestNode;
  /** Sizes of the update batches node a wrote. */
  let batches: number[] = [];
  before(async () => {
    a = await startNode(db.url);
    b = await startNode(db.url);
    batches = recordUpdateBatches(a);
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  const values = (s: Session) => Object.fromEntries(Object.entries(s.getAttributes()).map(([k, v]) => [k, v.value]));
  async function stored(id: string): Promise<{ version: number; attributes: Record<string, unknown> }> {
    const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [id]);
    const attrs = await db.query<{ key: string; value: string }>(`SELECT key, value FROM session_attributes WHERE session_id = $1 ORDER BY key`, [id]);
    return { version: row!.version, attributes: Object.fromEntries(attrs.map((r) => [r.key, JSON.parse(r.value)])) };
  }
  const lockWaiters = async () =>
    (await db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).length;

  // API.md "Database failures … never leave the cache holding data the database did not
  // commit"; docs/guarantees.md "Caches never serve what the database did not commit".
  // Framework stores create sessions under an id they choose (createIfAbsent), so an id
  // can be deleted and created again, and versions restart at 1. An update made from a
  // copy of the first session then passes the version test (`x.version = expected`), the
  // statement reports "nobody changed it" (`s.version - 1 = expected`), and the node
  // builds the new state from the copy of the *deleted* session: it returns and caches
  // attributes the database never held (here a destroyed session's `secret`).
  it('an update from a copy of a deleted session, re-created under the same id, neither returns nor caches the deleted one\'s data', async () => {
    const id = randomUUID();
    const options = { groupId: null, expiresAt: null, includeInactivity: true };
    assert.ok(await a.sessions.createSessionWithId(id, '', { a: 1, secret: 'old' }, options));
    const copy = await a.sessions.getSession(id, { forceRefresh: true });
    assert.equal(copy.version, 1);
    // Another node destroys it and a new session is stored under the same id.
    const dropped = nextChange(a, (c) => c.type === 'sessions' && c.ids.includes(id));
    await b.sessions.deleteSession(id);
    await dropped; // node a heard of it before its update (no race needed)
    assert.ok(await b.sessions.createSessionWithId(id, '', { a: 5 }, options));

    copy.setAttribute('b', 2);
    const saved = await a.sessions.updateSession(copy);
    const inDb = await stored(id);
    assert.deepEqual(inDb, { version: 2, attributes: { a: 5, b: 2 } });
    assert.deepEqual(values(saved), inDb.attributes, 'the returned session is what the database holds');
    assert.deepEqual(values(await a.sessions.getSession(id)), inDb.attributes, 'the cache serves what the database holds');
  });

  // Same root (versions restart at 1 when an id is created again): a copy of the deleted
  // session passes both checks against the new one once its versions caught up, and
  // overwrites a write its caller never saw (API.md: checkAttributeVersion "can never be
  // fooled by a delete-and-recreate"; docs/guarantees.md: attribute versions never repeat).
  it('checkVersion + checkAttributeVersion from a copy of a deleted session do not overwrite the re-created session', async () => {
    const id = randomUUID();
    const options = { groupId: null, expiresAt: null, includeInactivity: true };
    assert.ok(await a.sessions.createSessionWithId(id, '', { a: 'old' }, options));
    const first = await a.sessions.getSession(id, { forceRefresh: true });
    first.setAttribute('a', 'old2');
    const copy = await a.sessions.updateSession(first); // v2, a@2
    await b.sessions.deleteSession(id);
    assert.ok(await b.sessions.createSessionWithId(id, '', { a: 'new' }, options));
    const theirs = await b.sessions.getSession(id, { forceRefresh: true });
    theirs.setAttribute('a', 'new2');
    await b.sessions.updateSession(theirs); // v2, a@2 again, another value
    copy.setAttribute('a', 'mine');
    const outcome = await a.sessions.updateSession(copy, { checkVersion: true, checkAttributeVersion: true }).then(
      () => 'written',
      (err: unknown) => (err instanceof SessionConflictError ? 'conflict' : String(err)),
    );
    assert.equal(outcome, 'conflict', 'a copy of the deleted session overwrote a value its caller never read');
    assert.deepEqual((await stored(id)).attributes, { a: 'new2' });
  });

  // Attribute version after expiry: the expired row is still stored (no cleanup yet) when
  // the key is set again; the new version is the session's, above the old one, so a copy
  // that read the attribute while it was live conflicts. (Passes: checked and fine.)
  it('an expired attribute still stored and set again gets a version it never had', async () => {
    const s = await a.sessions.createSession('u-exp', { k: { value: 1, expiresAt: new Date(Date.now() + 300) }, other: { value: 0 } });
    const live = await a.sessions.getSession(s.id, { forceRefresh: true });
    assert.equal(live.getAttributeRecord('k')!.version, 1);
    await waitUntilPast(live.getAttributeRecord('k')!.expiresAt!);
    const later = await b.sessions.getSession(s.id, { forceRefresh: true });
    assert.equal(later.getAttributeRecord('k'), undefined);
    assert.equal((await db.query(`SELECT 1 FROM session_attributes WHERE session_id = $1 AND key = 'k'`, [s.id])).length, 1, 'the expired row is still stored');
    later.setAttribute('k', 2);
    const written = await b.sessions.updateSession(later, { checkAttributeVersion: true });
    assert.ok(written.getAttributeRecord('k')!.version > 1);
    live.setAttribute('k', 3);
    await assert.rejects(a.sessions.updateSession(live, { checkAttributeVersion: true }), SessionConflictError);
    assert.equal((await stored(s.id)).attributes.k, 2);
  });

  // The slow path: the caller's copy is older than the statement's snapshot (v1 read, v2
  // committed since), so the UPDATE applies only through the sub-select (snapshot version).
  // A third writer holds the row (v3, uncommitted) while the statement waits for the lock
  // and commits: in the EvalPlanQual recheck the latest row (v3) must not match the
  // sub-select (v2, read with the statement's snapshot), else `changed` (read from the
  // snapshot) would miss the third writer's attribute and the node would cache that.
  // Single statement (the update goes alone) and batch statement (two updates wait behind
  // a lone one and go together).
  for (const form of ['single', 'batch'] as const) {
    it(`${form} statement: a copy older than the snapshot, and a commit landing while it waits for the row lock`, async () => {
      const target = await a.sessions.createSession(`u-epq-${form}`, { x: { value: 0 } });
      const copy = await a.sessions.getSession(target.id, { forceRefresh: true });
      const mid = await b.sessions.getSession(target.id, { forceRefresh: true });
      mid.setAttribute('mid', 'm');
      await b.sessions.updateSession(mid); // v2, committed before the statement starts
      const blocker = await uncommittedChange(db.url, [target.id], 3);
      try {
        copy.setAttribute('x', 1);
        let pending: Array<Promise<Session>>;
        if (form === 'single') {
          pending = [a.sessions.updateSession(copy)];
        } else {
          const lone = await a.sessions.createSession('u-epq-lone', {});
          const companion = await a.sessions.createSession('u-epq-companion', {});
          lone.setAttribute('y', 1);
          companion.setAttribute('y', 1);
          batches.length = 0;
          pending = [a.sessions.updateSession(lone), a.sessions.updateSession(copy), a.sessions.updateSession(companion)];
        }
        await waitFor(async () => (await lockWaiters()) > 0, 'the update waits for the row the other writer holds');
        await blocker.commit();
        const results = await Promise.all(pending);
        if (form === 'batch') assert.deepEqual(batches.slice(0, 2), [1, 2], 'a lone update, then the copy with its companion in one statement');
        const saved = form === 'single' ? results[0]! : results[1]!;
        const inDb = await stored(target.id);
        assert.deepEqual(inDb, { version: 4, attributes: { mid: 'm', theirs: 't', x: 1 } });
        assert.equal(saved.version, 4);
        assert.deepEqual(values(saved), inDb.attributes, 'the returned session is what the database holds');
        assert.deepEqual(values(await a.sessions.getSession(target.id)), inDb.attributes, 'the cache serves what the database holds');
      } finally {
        await blocker.end();
      }
    });
  }

  // Group commit: with one batch in flight, a new update waits for it even though the
  // second slot is free (UPDATE_BATCHES_IN_FLIGHT = 2). Before c7dbff4 it went to the free
  // slot. A batch that waits for a row lock (another transaction, a stale-snapshot retry
  // loop of up to 100 statements inside the batch) then holds back every update of every
  // other session on the node for as long as it waits.
  it('an update waiting for a row lock does not hold back an update of another session', async () => {
    const hot = await a.sessions.createSession('u-hol-1', { x: { value: 0 } });
    const other = await a.sessions.createSession('u-hol-2', { x: { value: 0 } });
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, [hot.id]);
      const hotCopy = await a.sessions.getSession(hot.id);
      hotCopy.setAttribute('x', 1);
      const first = a.sessions.updateSession(hotCopy);
      await waitFor(async () => (await lockWaiters()) > 0, 'the first update waits for the row lock');
      const otherCopy = await a.sessions.getSession(other.id);
      otherCopy.setAttribute('x', 1);
      let done = false;
      const second = a.sessions.updateSession(otherCopy).finally(() => {
        done = true;
      });
      try {
        await waitFor(() => done, 'the update of the other session completes while the first still waits', 5_000);
      } finally {
        await blocker.query('COMMIT');
        await Promise.allSettled([first, second]);
      }
      assert.equal((await second).getAttribute('x'), 1);
    } finally {
      await blocker.end();
    }
  });
});
