import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { LockService, SessionConflictError } from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextChange, startNode, type TestNode } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/** A pull reader: metrics are read when the test calls `collect()`. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** Data points of every metric by name, as collected now (one node per provider). */
async function collect(reader: TestReader): Promise<Map<string, Array<DataPoint<unknown>>>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const byName = new Map<string, Array<DataPoint<unknown>>>();
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== 'nestjs-pg-session') continue;
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric.dataPoints as Array<DataPoint<unknown>>);
  }
  return byName;
}

function value(points: Map<string, Array<DataPoint<unknown>>>, name: string, attributes: Record<string, string> = {}): number {
  const point = points.get(name)?.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  if (!point) return 0;
  return typeof point.value === 'number' ? point.value : (point.value as Histogram).count;
}

const db = useTestDatabase();

describe('metrics through the OpenTelemetry API', () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  let a: TestNode;
  let b: TestNode;

  before(async () => {
    // The module takes its meter from the global provider at init: node A counts on the
    // test's provider; node B, started after it is unset, gets the API's no-op meter.
    metrics.setGlobalMeterProvider(provider);
    a = await startNode(db.url);
    metrics.disable();
    b = await startNode(db.url);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await provider.shutdown();
    await assertNoOpenHandles();
  });

  it('cache hits and misses, updates by outcome, batch size and latency, notifications and listener state move', async () => {
    const before = await collect(reader);
    assert.equal(value(before, 'nestjs_pg_session.listener.up'), 1);

    // A miss then a hit on node A (B's session is not in A's cache).
    const s = await b.sessions.createSession('metrics-user', { n: { value: 0 } });
    await a.sessions.getSession(s.id);
    await a.sessions.getSession(s.id);
    let points = await collect(reader);
    assert.ok(value(points, 'nestjs_pg_session.cache.misses') >= value(before, 'nestjs_pg_session.cache.misses') + 1);
    assert.ok(value(points, 'nestjs_pg_session.cache.hits') >= value(before, 'nestjs_pg_session.cache.hits') + 1);
    assert.ok(value(points, 'nestjs_pg_session.cache.size') >= 1);

    // An update from B reaches A as a notification.
    const heard = nextChange(a, (c) => c.type === 'sessions' && c.ids.includes(s.id));
    const fromB = await b.sessions.getSession(s.id);
    fromB.setAttribute('n', 1);
    await b.sessions.updateSession(fromB);
    await heard;
    points = await collect(reader);
    assert.ok(value(points, 'nestjs_pg_session.notification.received') >= 1);

    // On A: one update that succeeds and one that loses on the version.
    const copy1 = await a.sessions.getSession(s.id, { forceRefresh: true });
    const copy2 = await a.sessions.getSession(s.id, { forceRefresh: true });
    copy1.setAttribute('n', 2);
    copy2.setAttribute('n', 3);
    await a.sessions.updateSession(copy1, { checkVersion: true });
    await assert.rejects(a.sessions.updateSession(copy2, { checkVersion: true }), SessionConflictError);
    points = await collect(reader);
    assert.equal(value(points, 'nestjs_pg_session.updates', { outcome: 'ok' }), 1);
    assert.equal(value(points, 'nestjs_pg_session.updates', { outcome: 'version_conflict' }), 1);

    // Concurrent updates of many sessions on A go in batches: the size histogram counts
    // batches and sums updates.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => a.sessions.createSession(`metrics-${i}`, { n: { value: 0 } })));
    await Promise.all(
      many.map((m) => {
        m.setAttribute('n', 1);
        return a.sessions.updateSession(m);
      }),
    );
    points = await collect(reader);
    const sizes = points.get('nestjs_pg_session.update_batch.size')![0]!.value as Histogram;
    assert.equal(sizes.sum, 22, 'every batched update is in one recorded batch');
    assert.ok(sizes.count < 22, `some updates shared a batch (${sizes.count} batches)`);
    const durations = points.get('nestjs_pg_session.update_batch.duration')![0]!.value as Histogram;
    assert.equal(durations.count, sizes.count);
    assert.equal(value(points, 'nestjs_pg_session.updates', { outcome: 'ok' }), 21);

    // An update its batch does not apply (here it loses on its version) is run again on
    // its own and counted once, by how it ended.
    const six = await Promise.all(Array.from({ length: 6 }, (_, i) => a.sessions.createSession(`metrics-b${i}`, { n: { value: 0 } })));
    const copies = await Promise.all(six.map((m) => a.sessions.getSession(m.id)));
    const bump = await a.sessions.getSession(six[3]!.id);
    bump.setAttribute('n', 1);
    await a.sessions.updateSession(bump);
    const before6 = (points.get('nestjs_pg_session.update_batch.size')![0]!.value as Histogram).sum ?? 0;
    const results = await Promise.allSettled(
      copies.map((m) => {
        m.setAttribute('n', 2);
        return a.sessions.updateSession(m, { checkVersion: true });
      }),
    );
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    points = await collect(reader);
    const sizes6 = points.get('nestjs_pg_session.update_batch.size')![0]!.value as Histogram;
    // The first of the six goes alone; the other five (the stale copy among them) wait and go together.
    assert.equal((sizes6.sum ?? 0) - before6, 1 + 6, 'the bump and the six (the loser\'s second run is not a batch)');
    assert.equal(value(points, 'nestjs_pg_session.updates', { outcome: 'ok' }), 21 + 1 + 5);
    assert.equal(value(points, 'nestjs_pg_session.updates', { outcome: 'version_conflict' }), 2);
    assert.equal(value(points, 'nestjs_pg_session.updates', { outcome: 'retry' }), 0);
  });

  it('last-access flushes, cleanup passes and locks acquired, held and lost move', async () => {
    const s = await a.sessions.createSession('metrics-work');
    await a.sessions.getSession(s.id);
    await a.sessions.flushLastAccess();
    await a.sessions.cleanupExpiredSessions();
    let points = await collect(reader);
    assert.ok(value(points, 'nestjs_pg_session.last_access.flushes') >= 1);
    assert.ok(value(points, 'nestjs_pg_session.last_access.rows') >= 1);
    assert.ok(value(points, 'nestjs_pg_session.cleanup.runs') >= 1);

    const lock = a.app.get(LockService).createLock(s.id, 'metrics', { leaseTime: 5000, heartbeatInterval: 50 });
    await lock.lock();
    points = await collect(reader);
    assert.equal(value(points, 'nestjs_pg_session.lock.acquisitions'), 1);
    assert.equal(value(points, 'nestjs_pg_session.lock.active'), 1);
    assert.equal(value(points, 'nestjs_pg_session.lock.losses'), 0);
    // Deleting the session frees its locks: the holder's next heartbeat finds it lost.
    await b.sessions.deleteSession(s.id);
    await waitFor(() => lock.signal.aborted, 'the holder to learn its lock is gone', 3000);
    points = await collect(reader);
    assert.equal(value(points, 'nestjs_pg_session.lock.losses'), 1);
    assert.equal(value(points, 'nestjs_pg_session.lock.active'), 0);
  });
});

describe('metrics of two module instances on one meter provider', () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  let a: TestNode;
  let b: TestNode;

  before(async () => {
    metrics.setGlobalMeterProvider(provider);
    a = await startNode(db.url);
    b = await startNode(db.url);
    metrics.disable();
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await provider.shutdown();
  });

  it('each instance reports its own series (node.id attribute), none overwrites the other', async () => {
    const s = await a.sessions.createSession('two-instances');
    for (let i = 0; i < 5; i++) await a.sessions.getSession(s.id);
    const points = await collect(reader);
    const hits = points.get('nestjs_pg_session.cache.hits') ?? [];
    const nodes = new Set(hits.map((p) => p.attributes['nestjs_pg_session.node.id']));
    assert.equal(nodes.size, 2, 'one series per instance');
    const total = hits.reduce((sum, p) => sum + (p.value as number), 0);
    assert.equal(total, a.sessions.stats().cacheHits + b.sessions.stats().cacheHits);
    assert.ok(hits.some((p) => (p.value as number) === a.sessions.stats().cacheHits && a.sessions.stats().cacheHits >= 5), 'node A\'s hits are reported');
  });
});
