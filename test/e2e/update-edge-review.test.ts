import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Session } from '../../lib/index.js';
import { SessionStore, type UpdateCommand, type UpdateResult } from '../../lib/store/session.store.js';
import { useTestDatabase } from '../support/database.js';
import { startNode, type TestNode, recordUpdateBatches } from '../support/nodes.js';

/**
 * Review of issue 13's write path, second pass: edges of the same-session test (created_at
 * compared as a millisecond range) and of the batch's last-access shortcut. Both update
 * statements are exercised: an update alone runs the single statement, concurrent ones
 * are coalesced into the batch statement (checked with the batcher's observer).
 */
const db = useTestDatabase();

describe('update edges (issue 13 review)', () => {
  let node: TestNode;
  /** Sizes of the update batches the node wrote. */
  let batches: number[] = [];

  before(async () => {
    node = await startNode(db.url, { notifyOnUpdates: false });
    batches = recordUpdateBatches(node);
  });

  after(async () => {
    await node?.close();
  });

  const snapshotOf = (s: Session) => (s as unknown as { snapshot: UpdateCommand['base'] }).snapshot;

  // API.md §2: an update with checkVersion succeeds when nobody changed the session since
  // it was read. created_at only tells a session from one created again under its id;
  // the row's own created_at must always match the millisecond the caller read, whatever
  // the date. `to_timestamp(0) + ms * interval '1 millisecond'` multiplies in float8
  // microseconds: past ±2^53 µs / 125 (years ≈ 4253 and −312) an odd millisecond's start
  // comes out a few µs late, a row created in those first µs reads as another session,
  // and its checked update is retried as stale (100 × 100 statements) and then refused.
  it('a session created at any representable time is the same session to both update statements', async () => {
    const createdAt = [
      '5000-01-01 00:00:00.003+00', // odd millisecond, its first microsecond
      '1000-01-01 00:00:00.003+00 BC',
      '1969-12-31 23:59:59.9995+00', // negative epoch, inside a millisecond
      '1969-12-31 23:59:59.999+00', // negative epoch, at a millisecond's start
      '2026-01-01 00:00:00.000999+00', // last microsecond of a millisecond
    ];
    const prepare = async (round: string): Promise<Session[]> => {
      const created = await Promise.all(createdAt.map((_, n) => node.sessions.createSession(`far-${round}-${n}`, { a: { value: 0 } })));
      for (const [n, s] of created.entries()) await db.query(`UPDATE sessions SET created_at = $2::timestamptz WHERE id = $1`, [s.id, createdAt[n]]);
      return Promise.all(created.map((s) => node.sessions.getSession(s.id, { forceRefresh: true, updateLastAccess: false })));
    };
    const update = async (s: Session, n: number): Promise<string> => {
      s.setAttribute('a', n + 1);
      try {
        const saved = await node.sessions.updateSession(s, { checkVersion: true, checkAttributeVersion: true });
        return saved.version === s.version + 1 ? 'ok' : `version ${saved.version}`;
      } catch (err) {
        return `${createdAt[n]}: ${(err as Error).name}`;
      }
    };
    // One at a time: each goes alone (the single statement).
    const alone: string[] = [];
    for (const [n, s] of (await prepare('alone')).entries()) alone.push(await update(s, n));
    // All at once: coalesced (the batch statement).
    const copies = await prepare('batch');
    batches.length = 0;
    const together = await Promise.all(copies.map((s, n) => update(s, n)));
    assert.ok(batches.some((size) => size > 1), `coalesced (batch sizes ${batches.slice(0, 10).join(', ')})`);
    assert.deepEqual({ alone, together }, { alone: createdAt.map(() => 'ok'), together: createdAt.map(() => 'ok') });
  });

  // The batch returns the stored last_accessed only where it differs from the caller's own
  // access, and otherwise lets the caller use the access it sent. A node whose clock runs
  // ahead sends an access later than the database's now(); the stored one is capped at
  // now(), which equals the capped access: the batch then reports the node's future time
  // as the session's last access, while the single statement (and the row) say now().
  it("a batched update from a node whose clock runs ahead returns the stored (capped) last access, as an update alone does", async () => {
    const sessions = await Promise.all(['ahead-1', 'ahead-2', 'ahead-3'].map((user) => node.sessions.createSession(user)));
    const store = node.app.get(SessionStore);
    const ahead = Date.now() + 3_600_000; // this node's clock: an hour ahead of the database
    batches.length = 0;
    const results: UpdateResult[] = await Promise.all(sessions.map((s) => store.update({
      id: s.id, checkVersion: false, expectedVersion: s.version, checkedKeys: [], checkedVersions: [],
      setKeys: ['n'], setValues: ['1'], setExpiries: [null], deleteKeys: [],
      groupChanged: false, groupId: null, expiresAt: null, includeInactivity: null,
      notifyOnSuccess: false, notifyOnFailure: false, lastAccess: ahead,
      base: snapshotOf(s),
    })));
    assert.ok(batches.some((size) => size > 1), `coalesced (batch sizes ${batches.join(', ')})`);
    const reported: number[] = [];
    const storedAt: number[] = [];
    for (const [n, s] of sessions.entries()) {
      const [row] = await db.query<{ at: number }>(`SELECT floor(extract(epoch FROM last_accessed) * 1000)::float8 AS at FROM sessions WHERE id = $1`, [s.id]);
      const result = results[n]!;
      assert.equal(result.kind, 'ok');
      reported.push((result as { snapshot: { lastAccessed: number } }).snapshot.lastAccessed);
      storedAt.push(row!.at);
    }
    assert.ok(storedAt.every((at) => at < ahead), 'the stored access was capped at the database clock');
    assert.deepEqual(reported, storedAt);
  });
});
