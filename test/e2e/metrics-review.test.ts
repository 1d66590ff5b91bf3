import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNoopMeter, metrics, type Counter, type Meter, type MeterProvider, type MetricOptions } from '@opentelemetry/api';
import { SessionConflictError, type Session } from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { recordUpdateBatches, startNode, type TestNode } from '../support/nodes.js';
import { unhandledDuring } from '../support/unhandled.js';

/**
 * A meter provider whose update counter fails on every `add` (an SDK fault, e.g. a
 * broken exporter hook): the fault is real, only the instrument is the one the test gives.
 */
class FailingCounterProvider implements MeterProvider {
  adds = 0;
  getMeter(): Meter {
    const meter = createNoopMeter();
    const createCounter = (name: string, options?: MetricOptions): Counter => {
      if (!name.endsWith('updates')) return meter.createCounter(name, options);
      return {
        add: () => {
          this.adds++;
          throw new Error('counter failed');
        },
      };
    };
    return Object.assign(Object.create(meter) as Meter, { createCounter });
  }
}


const db = useTestDatabase();

// Review of c903cc0: the updates metric counts an update its batch did not apply once
// it is known how it ended, in a callback outside the batcher's guard around its
// observer ("metrics must never fail or strand the writes they observe").
describe('metrics review (issue 13)', () => {
  const provider = new FailingCounterProvider();
  let node: TestNode;
  let batches: number[] = [];
  before(async () => {
    metrics.setGlobalMeterProvider(provider);
    node = await startNode(db.url);
    metrics.disable();
    batches = recordUpdateBatches(node);
  });
  after(async () => {
    await node?.close();
  });

  it('an update counter that throws leaves no unhandled rejection when a batched update runs again alone', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, (_, i) => node.sessions.createSession(`metrics-review-${i}`, { n: { value: 0 } })));
    const copies = await Promise.all(sessions.map((s) => node.sessions.getSession(s.id, { forceRefresh: true })));
    // One of them changed by someone else: its copy loses its version check in the batch.
    await db.query(`UPDATE sessions SET version = version + 1 WHERE id = $1`, [sessions[2]!.id]);
    let results: Array<PromiseSettledResult<Session>> = [];
    batches.length = 0;
    const addsBefore = provider.adds;
    const unhandled = await unhandledDuring(async () => {
      results = await Promise.allSettled(
        copies.map((copy) => {
          copy.setAttribute('n', 1);
          return node.sessions.updateSession(copy, { checkVersion: true });
        }),
      );
    });
    assert.ok(batches.some((n) => n > 1), `coalesced (batches ${batches.join(', ')})`);
    assert.ok(provider.adds > addsBefore, 'the counter was used');
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.ok((results[2] as PromiseRejectedResult).reason instanceof SessionConflictError);
    assert.deepEqual(unhandled.map(String), []);
  });
});
