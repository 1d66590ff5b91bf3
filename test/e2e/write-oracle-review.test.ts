import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { SessionConflictError, SessionNotFoundError, type Session } from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { SessionNotifications } from '../../lib/sync/session-notifications.service.js';
import { startNode, type TestNode, recordUpdateBatches } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/**
 * Review of issue 13's batch statement (only applied updates reported; the rest re-run
 * alone): two nodes write the same few sessions concurrently with every option mix
 * (plain, checkVersion, checkAttributeVersion, deletes, group and expiry changes), while
 * some sessions are deleted and created again under their id. The database records
 * every committed state (a deferred trigger, so it sees the whole statement's writes):
 * every state `updateSession` returns must be one the database committed, and counters
 * incremented under a version check must count every success exactly once.
 */
/** A pull reader: metrics are read when the test collects them. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const db = useTestDatabase();

describe('write path oracle (issue 13 review)', () => {
  let a: TestNode;
  let b: TestNode;
  let batches: number[] = [];
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  before(async () => {
    // Node a counts on the test's meter provider; node b gets the API's no-op meter.
    metrics.setGlobalMeterProvider(provider);
    a = await startNode(db.url, { notifyOnFailedUpdates: true });
    metrics.disable();
    b = await startNode(db.url, { notifyOnFailedUpdates: true });
    batches = recordUpdateBatches(a);
    await db.query(`CREATE TABLE history (id uuid, created_ms float8, version int, group_id text, expires_ms float8, incl boolean, attrs jsonb)`);
    await db.query(`CREATE FUNCTION record_state() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO history
        SELECT s.id, floor(extract(epoch FROM s.created_at) * 1000), s.version, s.group_id, floor(extract(epoch FROM s.expires_at) * 1000), s.include_inactivity,
               (SELECT coalesce(jsonb_object_agg(a.key, jsonb_build_array(a.value, a.version)), '{}') FROM session_attributes a WHERE a.session_id = s.id)
          FROM sessions s WHERE s.id = NEW.id;
        RETURN NULL;
      END $$`);
    await db.query(`CREATE CONSTRAINT TRIGGER record_state AFTER INSERT OR UPDATE ON sessions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_state()`);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await provider.shutdown();
  });

  /** Node a's `nestjs_pg_session.updates` counts by outcome. */
  async function updateCounts(): Promise<Record<string, number>> {
    const { resourceMetrics } = await reader.collect();
    const counts: Record<string, number> = {};
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name !== 'nestjs_pg_session.updates') continue;
        for (const point of metric.dataPoints) counts[String(point.attributes.outcome)] = point.value as number;
      }
    }
    return counts;
  }

  const stateOf = (s: Session) => ({
    group: s.groupId,
    expires: s.expiresAt.getTime(),
    incl: s.includeInactivity,
    attrs: Object.fromEntries(Object.entries(s.getAttributes()).map(([k, r]) => [k, [JSON.stringify(r.value), r.version]])),
  });

  it('every returned state was committed; checked counters count every success once', async () => {
    const counted = await Promise.all(Array.from({ length: 4 }, (_, i) => a.sessions.createSession(`oracle-${i}`, { n: { value: 0 }, m: { value: 0 } })));
    const recreated = Array.from({ length: 3 }, () => randomUUID());
    const anon = { groupId: null, expiresAt: null, includeInactivity: true };
    for (const id of recreated) assert.ok(await a.sessions.createSessionWithId(id, '', { x: 0 }, anon));
    const successes = new Map<string, { n: number; m: number }>(counted.map((s) => [s.id, { n: 0, m: 0 }]));
    const returned: Array<{ id: string; created: number; version: number; state: ReturnType<typeof stateOf> }> = [];
    const outcomes = { ok: 0, conflict: 0, notFound: 0 };
    /** Node a's updates by how they ended, as the updates metric names them. */
    const onA: Record<string, number> = {};
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };

    const worker = async (node: TestNode, w: number) => {
      for (let step = 0; step < 40; step++) {
        const r = rnd();
        const recreate = r < 0.25;
        const id = recreate ? recreated[Math.floor(rnd() * recreated.length)]! : counted[Math.floor(rnd() * counted.length)]!.id;
        let s: Session;
        try {
          s = await node.sessions.getSession(id, { forceRefresh: rnd() < 0.3 });
        } catch (err) {
          if (!(err instanceof SessionNotFoundError)) throw err;
          if (recreate) await node.sessions.createSessionWithId(id, '', { x: w }, anon);
          continue;
        }
        if (recreate && rnd() < 0.3) {
          await node.sessions.deleteSession(id);
          await node.sessions.createSessionWithId(id, '', { x: w, y: step }, anon);
          continue;
        }
        const mode = rnd();
        const options = { checkVersion: mode < 0.3, checkAttributeVersion: mode >= 0.3 && mode < 0.6 };
        const counter = !recreate && (options.checkVersion || options.checkAttributeVersion) ? (options.checkVersion ? 'n' : 'm') : null;
        if (counter !== null) s.setAttribute(counter, (s.getAttribute<number>(counter) ?? 0) + 1);
        const k = rnd();
        if (k < 0.4) s.setAttribute(`w${w % 4}`, step);
        else if (k < 0.55) s.deleteAttribute(`w${(w + 1) % 4}`);
        else if (k < 0.65) s.groupId = rnd() < 0.5 ? null : `g${w % 3}`;
        const expiresAt = rnd() < 0.1 ? new Date(Date.now() + 3_600_000 + w * 1000) : undefined;
        try {
          const after = await node.sessions.updateSession(s, { ...options, ...(expiresAt ? { expiresAt } : {}) });
          outcomes.ok++;
          if (node === a) onA.ok = (onA.ok ?? 0) + 1;
          if (!recreate) assert.ok(after.version > s.version, `version ${after.version} after ${s.version}`);
          if (counter !== null) successes.get(id)![counter as 'n' | 'm']++;
          returned.push({ id, created: after.createdAt.getTime(), version: after.version, state: stateOf(after) });
        } catch (err) {
          if (err instanceof SessionConflictError) outcomes.conflict++;
          else if (err instanceof SessionNotFoundError) outcomes.notFound++;
          else throw err;
          const outcome = err instanceof SessionNotFoundError ? 'not_found' : err.attribute === undefined ? 'version_conflict' : 'attribute_conflict';
          if (node === a) onA[outcome] = (onA[outcome] ?? 0) + 1;
        }
      }
    };
    batches.length = 0;
    await Promise.all(Array.from({ length: 24 }, (_, w) => worker(w % 2 === 0 ? a : b, w)));
    assert.ok(batches.some((n) => n > 2), `coalesced (largest batch ${Math.max(...batches)})`);

    // Every returned state is one the database committed at that version.
    const history = await db.query<{ id: string; created_ms: number; version: number; group_id: string | null; expires_ms: number; incl: boolean; attrs: Record<string, [string, number]> }>(
      `SELECT * FROM history`,
    );
    const committed = new Map(history.map((h) => [`${h.id}/${h.created_ms}/${h.version}`, { group: h.group_id, expires: h.expires_ms, incl: h.incl, attrs: h.attrs }]));
    for (const r of returned) {
      const key = `${r.id}/${r.created}/${r.version}`;
      assert.deepEqual(r.state, committed.get(key), `returned state ${key}`);
    }
    // Counters: every success counted once, no conflict lost.
    for (const s of counted) {
      const [row] = await db.query<{ n: string; m: string }>(
        `SELECT (SELECT value FROM session_attributes WHERE session_id = $1 AND key = 'n') AS n, (SELECT value FROM session_attributes WHERE session_id = $1 AND key = 'm') AS m`,
        [s.id],
      );
      assert.deepEqual({ n: Number(row!.n), m: Number(row!.m) }, successes.get(s.id), `counters of ${s.id}`);
    }
    // Both nodes' caches end at the stored state (their copies were dropped by notifications).
    for (const node of [a, b]) {
      for (const id of [...counted.map((s) => s.id), ...recreated]) {
        await waitFor(async () => {
          const [row] = await db.query<{ version: number }>(`SELECT version FROM sessions WHERE id = $1`, [id]);
          const cached = await node.sessions.getSession(id, { updateLastAccess: false }).then((s) => s.version, () => null);
          return (row?.version ?? null) === cached;
        }, `node cache of ${id} matches the database`);
      }
    }
    // Node a's updates metric counts each update once, by how it ended (also those its
    // batch did not apply and that ran again alone).
    assert.deepEqual(await updateCounts(), onA);
    assert.ok(outcomes.ok > 100 && outcomes.conflict > 10, JSON.stringify(outcomes));
  });

  // API.md §1 `notifyOnFailedUpdates`: also notify when an update fails its version
  // check. In a batch, such an update is not applied and runs again alone, which sends
  // that notification: node b's stale copies must go, for every failed update of a batch
  // in which nothing applied.
  it('a batch in which every update fails its check notifies each failure (notifyOnFailedUpdates)', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, (_, i) => a.sessions.createSession(`failing-${i}`, { k: { value: 0 }, gone: { value: 0 } })));
    for (const s of sessions) assert.equal((await b.sessions.getSession(s.id)).version, 1); // cached on b
    const copies = await Promise.all(sessions.map((s) => a.sessions.getSession(s.id, { forceRefresh: true })));
    // Someone else (no notification) changes each: b's copies are now stale, a's conflict.
    await db.query(`UPDATE session_attributes SET version = 7, value = '7' WHERE session_id = ANY($1::uuid[])`, [sessions.map((s) => s.id)]);
    await db.query(`UPDATE sessions SET version = 7 WHERE id = ANY($1::uuid[])`, [sessions.map((s) => s.id)]);
    const heard = new Set<string>();
    const subscription = b.app.get(SessionNotifications).changes$.subscribe((c) => {
      if (c.type === 'sessions') for (const id of c.ids) heard.add(id);
    });
    try {
      batches.length = 0;
      const results = await Promise.allSettled(
        copies.map((copy, i) => {
          copy.setAttribute('k', 1);
          if (i % 2 === 1) copy.deleteAttribute('gone');
          return a.sessions.updateSession(copy, i < 3 ? { checkVersion: true } : { checkAttributeVersion: true });
        }),
      );
      assert.ok(batches.some((n) => n > 1), `coalesced (batches ${batches.join(', ')})`);
      for (const [i, r] of results.entries()) {
        assert.equal(r.status, 'rejected', `update ${i}`);
        const err = (r as PromiseRejectedResult).reason as SessionConflictError;
        assert.ok(err instanceof SessionConflictError, `update ${i}: ${String(err)}`);
        assert.equal(err.attribute === undefined, i < 3, `update ${i}: ${err.attribute}`);
      }
      await waitFor(() => sessions.every((s) => heard.has(s.id)), 'node b hears every failed update');
      for (const s of sessions) assert.equal((await b.sessions.getSession(s.id)).version, 7, 'b reads the stored version');
    } finally {
      subscription.unsubscribe();
    }
  });
});
