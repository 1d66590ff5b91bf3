// The bench's targets take each ratio within a run (its rows ran side by side), then the
// median over runs; a ratio of medians from different runs would carry the machine's drift.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sample } from '../../bench/harness.js';
import { computeTargets } from '../../bench/report.js';
import type { TimingRow } from '../../bench/scenarios/common.js';

const runs = (opsPerSec: number[]): Sample[] => opsPerSec.map((o) => ({ ops: o, seconds: 1, opsPerSec: o, medianUs: 1e6 / o, p99Us: 2e6 / o }));
const row = (impl: string, opsPerSec: number[]): TimingRow => ({
  scenario: 'update one attribute', impl, role: impl.startsWith('this library') ? 'ours' : 'reference', mode: 'in-flight', inFlight: 32, runs: runs(opsPerSec),
});

describe('bench targets', () => {
  it('take the median of per-run ratios, not the ratio of medians', () => {
    // Per run: 0.5, 0.3, 0.73 (median 0.5); the medians alone would give 12 / 40 = 0.3.
    const rows = [row('this library: updateSession (no check)', [10, 12, 30]), row('reference: the same writes hand-batched', [20, 40, 41])];
    const target = computeTargets(rows, null, null).find((t) => t.target.startsWith('2c. updateSession (no check)'))!;
    assert.equal(target.ratio, 0.5);
  });

  it("show, beside 2c, the best case of the same work by hand and ours against it, per run too", () => {
    // Best case ÷ reference per run: 0.75, 0.7, 0.8 (median 0.75); ours ÷ best case: 0.5, 0.5, 0.75 (median 0.5).
    const rows = [
      row('this library: updateSession (no check)', [6, 14, 24]),
      row('reference: the same writes hand-batched', [16, 40, 40]),
      row("reference: the library's statement and a cache of the new states, by hand (the best case of the same work)", [12, 28, 32]),
    ];
    const target = computeTargets(rows, null, null).find((t) => t.target.startsWith('2c. updateSession (no check)'))!;
    assert.match(target.measured, /the best case of the same work by hand: 0\.75×, ours 0\.50× that/);
    assert.equal(target.status, 'missed');
  });
});
