import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SessionConflictError, type Session } from '../../lib/index.js';
import { SessionStore, type UpdateCommand } from '../../lib/store/session.store.js';
import { Transaction, type Statement } from '../../lib/store/session.database.js';
import { updateStatementName, useRecordedNode } from '../support/nodes.js';
import { uncommittedChange } from '../support/other-writer.js';
import { waitFor } from '../support/wait.js';

/**
 * Review of 9cd8374 (a lone update first tries the exact-update statement; a batch applies
 * an update only where its caller read the latest state). Both statements fall back to the
 * single-update statement for whatever they do not apply, so a statement that never applies
 * (a wrong predicate, a shape PostgreSQL refuses to run as meant) is invisible in results:
 * only which statements ran tells. Each test states the guarantee it checks.
 */
describe('exact-update and batch statements (review of 9cd8374)', () => {
  const { db, node, batches, statements } = useRecordedNode();

  before(() => {
    // Statements inside a transaction (assignSessionUser); this process runs only this suite.
    const txQuery = Transaction.prototype.query;
    Transaction.prototype.query = function (this: Transaction, statement: Statement | string, values?: unknown[]) {
      const name = updateStatementName(statement);
      if (name !== null) statements.ran.push(name);
      return txQuery.call(this, statement, values);
    } as Transaction['query'];
  });

  async function stored(id: string): Promise<{ version: number; attributes: Record<string, [unknown, number]> }> {
    const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [id]);
    const attrs = await db.query<{ key: string; value: string; version: number }>(
      `SELECT key, value, version FROM session_attributes WHERE session_id = $1 ORDER BY key`, [id]);
    return { version: row!.version, attributes: Object.fromEntries(attrs.map((r) => [r.key, [JSON.parse(r.value), r.version]])) };
  }
  const returned = (s: Session) => Object.fromEntries(Object.entries(s.getAttributes()).map(([k, v]) => [k, [v.value, v.version]]));
  const lockWaiters = async () =>
    (await db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).length;

  const shapes = [
    { checks: false, deletes: false },
    { checks: true, deletes: false },
    { checks: false, deletes: true },
    { checks: true, deletes: true },
  ];
  const suffix = (shape: { checks: boolean; deletes: boolean }) => `${shape.checks ? '_chk' : ''}${shape.deletes ? '_del' : ''}`;

  /** A current copy with `a` changed (and `b` deleted for the deletes shape). */
  async function changedCopy(user: string, deletes: boolean): Promise<Session> {
    const s = await node.sessions.createSession(user, { a: { value: 0 }, b: { value: 0 } });
    const copy = await node.sessions.getSession(s.id, { forceRefresh: true });
    copy.setAttribute('a', 1);
    if (deletes) copy.deleteAttribute('b');
    return copy;
  }

  // The common case must be applied by the statement written for it: an exact-update
  // statement whose predicate never holds (or a shape that never applies) would be hidden
  // by the fallback to the single-update statement, at the cost of a second round trip.
  for (const shape of shapes) {
    it(`a lone update of a current copy is applied by the exact-update statement alone (shape${suffix(shape) || ' plain'})`, async () => {
      const copy = await changedCopy(`exact${suffix(shape)}`, shape.deletes);
      statements.ran = [];
      const saved = await node.sessions.updateSession(copy, { checkAttributeVersion: shape.checks });
      assert.deepEqual(statements.ran, [`update_exact${suffix(shape)}`], 'one statement, the exact-update one');
      const expected = { a: [1, 2], ...(shape.deletes ? {} : { b: [0, 1] }) };
      assert.deepEqual(await stored(copy.id), { version: 2, attributes: expected });
      assert.equal(saved.version, 2);
      assert.deepEqual(returned(saved), expected, 'the returned session is what the database holds');
      assert.deepEqual(returned(await node.sessions.getSession(copy.id)), expected, 'the cache serves it');
    });
  }

  for (const shape of shapes) {
    it(`a coalesced batch of current copies is applied by the batch statement alone (shape${suffix(shape) || ' plain'})`, async () => {
      const copies = await Promise.all([0, 1, 2, 3].map((i) => changedCopy(`batch${suffix(shape)}-${i}`, shape.deletes)));
      statements.ran = [];
      batches.length = 0;
      // The first goes alone (nothing in flight); the other three wait and go together.
      const saved = await Promise.all(copies.map((c) => node.sessions.updateSession(c, { checkAttributeVersion: shape.checks })));
      assert.deepEqual(batches.slice(0, 2), [1, 3]);
      assert.deepEqual(statements.ran, [`update_exact${suffix(shape)}`, `update_batch${suffix(shape)}`], 'nothing re-run in the single-update statement');
      const expected = { a: [1, 2], ...(shape.deletes ? {} : { b: [0, 1] }) };
      for (const s of saved) {
        assert.deepEqual(await stored(s.id), { version: 2, attributes: expected });
        assert.deepEqual(returned(s), expected);
      }
    });
  }

  // The exact-update statement writes the columns from its own parameter positions
  // ($8-$11), and the caller builds the returned state from its copy plus the command: a
  // position mixed up would store one thing and return (and cache) another.
  it('a lone update changing the group, expiry, inclusion and an attribute expiry: stored, returned and cached alike', async () => {
    const s = await node.sessions.createSession('columns', { a: { value: 0 } }, { groupId: 'g0' });
    const row = async () => (await db.query<{ group_id: string | null; expires_at: number; include_inactivity: boolean; a_expires: number | null; version: number }>(
      `SELECT s.group_id, floor(extract(epoch FROM s.expires_at) * 1000)::float8 AS expires_at, s.include_inactivity, s.version,
              floor(extract(epoch FROM a.expires_at) * 1000)::float8 AS a_expires
         FROM sessions s JOIN session_attributes a ON a.session_id = s.id AND a.key = 'a' WHERE s.id = $1`, [s.id]))[0]!;
    const view = (x: Session) => ({
      group_id: x.groupId, expires_at: x.expiresAt.getTime(), include_inactivity: x.includeInactivity,
      a_expires: x.getAttributeRecord('a')!.expiresAt?.getTime() ?? null, version: x.version,
    });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const attributeExpiry = new Date(Date.now() + 600_000);
    const copy = await node.sessions.getSession(s.id, { forceRefresh: true });
    copy.groupId = 'g1';
    copy.setAttribute('a', 1, { expiresAt: attributeExpiry });
    statements.ran = [];
    const first = await node.sessions.updateSession(copy, { expiresAt, includeInactivity: false });
    assert.deepEqual(statements.ran, ['update_exact']);
    assert.deepEqual(await row(), { group_id: 'g1', expires_at: expiresAt.getTime(), include_inactivity: false, a_expires: attributeExpiry.getTime(), version: 2 });
    assert.deepEqual(view(first), await row(), 'returned as stored');
    assert.deepEqual(view(await node.sessions.getSession(s.id)), await row(), 'cached as stored');
    // Group removed, the rest kept.
    const again = await node.sessions.getSession(s.id);
    again.groupId = null;
    statements.ran = [];
    const second = await node.sessions.updateSession(again);
    assert.deepEqual(statements.ran, ['update_exact']);
    assert.deepEqual(await row(), { group_id: null, expires_at: expiresAt.getTime(), include_inactivity: false, a_expires: attributeExpiry.getTime(), version: 3 });
    assert.deepEqual(view(second), await row(), 'returned as stored');
    assert.deepEqual(view(await node.sessions.getSession(s.id)), await row(), 'cached as stored');
  });

  // A commit landing between the exact statement's snapshot and its row lock: the row it
  // then locks is not the version its caller read, so it must not apply (the state it
  // would return is built from the caller's copy and would miss the other writer's
  // attribute); the single-update statement then applies it over the newer state, or
  // reports the conflict.
  for (const mode of ['plain', 'checkVersion', 'checkAttributeVersion'] as const) {
    it(`a lone update whose row changes while it waits for the lock (${mode})`, async () => {
      const s = await node.sessions.createSession(`epq-${mode}`, { a: { value: 0 } });
      const copy = await node.sessions.getSession(s.id, { forceRefresh: true });
      const blocker = await uncommittedChange(db.url, [s.id], 2);
      try {
        copy.setAttribute('a', 1);
        // Checked: an attribute absent when read, created meanwhile by the other writer.
        if (mode === 'checkAttributeVersion') copy.setAttribute('theirs', 'mine');
        statements.ran = [];
        const outcome = node.sessions.updateSession(copy, { checkVersion: mode === 'checkVersion', checkAttributeVersion: mode === 'checkAttributeVersion' }).then(
          (saved) => saved,
          (err: unknown) => err,
        );
        await waitFor(async () => (await lockWaiters()) > 0, 'the exact-update statement waits for the row the other writer holds');
        await blocker.commit();
        const result = await outcome;
        assert.equal(statements.ran[0], `update_exact${mode === 'checkAttributeVersion' ? '_chk' : ''}`, 'the exact-update statement ran first');
        if (mode === 'plain') {
          assert.ok(!(result instanceof Error), String(result));
          const saved = result as Session;
          const expected = { a: [1, 3], theirs: ['t', 2] };
          assert.deepEqual(await stored(s.id), { version: 3, attributes: expected });
          assert.equal(saved.version, 3);
          assert.deepEqual(returned(saved), expected);
          assert.deepEqual(returned(await node.sessions.getSession(s.id)), expected, 'the cache serves what the database holds');
        } else {
          assert.ok(result instanceof SessionConflictError, `expected a conflict, got ${String(result)}`);
          assert.equal(result.attribute, mode === 'checkAttributeVersion' ? 'theirs' : undefined);
          assert.deepEqual(await stored(s.id), { version: 2, attributes: { a: [0, 1], theirs: ['t', 2] } }, 'nothing written');
          assert.deepEqual(returned(await node.sessions.getSession(s.id)), { a: [0, 1], theirs: ['t', 2] }, 'no stale copy served');
        }
      } finally {
        await blocker.end();
      }
    });
  }

  // assignSessionUser writes the pending changes inside its transaction, where only the
  // single-update statement can apply an update over someone else's newer state (the
  // exact-update statement would leave it unapplied on every retry, and the assignment
  // would fail after 100 of them).
  it('assignSessionUser from a copy someone else changed since writes it in the single-update statement, over the newer state', async () => {
    const s = await node.sessions.createSession('assign-from', { a: { value: 0 } });
    const copy = await node.sessions.getSession(s.id, { forceRefresh: true });
    const other = await node.sessions.getSession(s.id, { forceRefresh: true });
    other.setAttribute('theirs', 't');
    await node.sessions.updateSession(other); // v2
    copy.setAttribute('a', 1);
    statements.ran = [];
    const assigned = await node.sessions.assignSessionUser(copy, 'assign-to');
    assert.deepEqual(statements.ran, ['update'], 'the pending changes went through the single-update statement');
    assert.equal(assigned.userId, 'assign-to');
    const values = Object.fromEntries(Object.entries(assigned.getAttributes()).map(([k, v]) => [k, v.value]));
    assert.deepEqual(values, { a: 1, theirs: 't' });
    const [row] = await db.query<{ user_id: string }>(`SELECT user_id FROM sessions WHERE id = $1`, [s.id]);
    assert.equal(row!.user_id, 'assign-to');
  });

  // A lone update PostgreSQL refuses (past the validators): before 9cd8374 the
  // single-update statement failed its caller with the database's error and wrote
  // nothing; the exact-update statement must do the same, in every shape.
  for (const shape of shapes) {
    it(`a lone update PostgreSQL refuses fails its caller with that error and writes nothing (shape${suffix(shape) || ' plain'})`, async () => {
      const s = await node.sessions.createSession(`refused${suffix(shape)}`, { a: { value: 0 } });
      const store = node.app.get(SessionStore);
      const cmd = {
        id: s.id, checkVersion: false, expectedVersion: 1,
        checkedKeys: shape.checks ? ['a'] : [], checkedVersions: shape.checks ? [1] : [],
        setKeys: ['bad\u0000key'], setValues: ['1'], setExpiries: [null], deleteKeys: shape.deletes ? ['a'] : [],
        groupChanged: false, groupId: null, expiresAt: null, includeInactivity: null,
        notifyOnSuccess: true, notifyOnFailure: false, lastAccess: null,
        base: (s as unknown as { snapshot: UpdateCommand['base'] }).snapshot,
      } as UpdateCommand;
      statements.ran = [];
      await assert.rejects(store.update(cmd), (err: unknown) => (err as { code?: string }).code === '22021');
      assert.equal(statements.ran[0], `update_exact${suffix(shape)}`);
      assert.deepEqual(await stored(s.id), { version: 1, attributes: { a: [0, 1] } });
      // The store is fine afterwards: a good update of that session applies.
      const copy = await node.sessions.getSession(s.id, { forceRefresh: true });
      copy.setAttribute('a', 2);
      assert.equal((await node.sessions.updateSession(copy)).version, 2);
    });
  }
});
