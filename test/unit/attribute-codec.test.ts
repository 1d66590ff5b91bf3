import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { encodeAttribute } from '../../lib/session/attribute-codec.js';

const LIMIT = 1 << 20;

describe('attribute values: what JSON can store, and where it cannot', () => {
  it('encodes plain values, nested and shared (a repeated object is not a cycle)', () => {
    const shared = { n: { m: 1 } };
    const value = { a: [1, 'x', true, null, { b: new Date(0) }], s: shared, t: shared, skipped: undefined, j: { toJSON: () => 'j' } };
    assert.equal(encodeAttribute('k', value, LIMIT), JSON.stringify(value));
    assert.equal(encodeAttribute('k', 'plain', LIMIT), '"plain"');
    assert.equal(encodeAttribute('k', null, LIMIT), 'null');
  });

  it('names the path of the first value it cannot store', () => {
    const cases: Array<[unknown, string]> = [
      [{ a: [1, { b: NaN }] }, 'Attribute value at k.a[1].b is NaN, which JSON cannot store.'],
      [{ a: { b: [undefined] } }, 'Attribute value at k.a.b[0] is undefined, which JSON cannot store.'],
      [{ a: { f: () => 1 } }, 'Attribute value at k.a.f is a function, which JSON cannot store.'],
      [[0, [new Date('nope')]], 'Attribute value at k[1][0] is an invalid Date.'],
      [{ m: new Map() }, 'Attribute value at k.m is a Map; store a plain object, array or primitive.'],
      [10n, 'Attribute value at k is a bigint, which JSON cannot store.'],
    ];
    for (const [value, message] of cases) assert.throws(() => encodeAttribute('k', value, LIMIT), { name: 'TypeError', message });
  });

  it('finds cycles at any depth, through objects and arrays', () => {
    const top: Record<string, unknown> = {};
    top.self = top;
    assert.throws(() => encodeAttribute('k', top, LIMIT), { message: 'Attribute value at k.self contains a cycle.' });
    const deep: Record<string, unknown> = { a: { b: [{}] } };
    ((deep.a as { b: Array<Record<string, unknown>> }).b[0]!).back = deep.a;
    assert.throws(() => encodeAttribute('k', deep, LIMIT), { message: 'Attribute value at k.a.b[0].back contains a cycle.' });
  });
});

describe('attribute values nested deeply', () => {
  it('are checked as deep as JSON.stringify can write them, on a cold start (the check costs no more stack per level than it did)', () => {
    // A fresh process: the check's first runs are unoptimized, where each frame is largest.
    // The depth is relative to what JSON.stringify itself writes there, so it does not
    // depend on the machine's stack size. 0a1554a's one-frame-per-level check reached
    // stringify's depth; a check of two frames per level (646be2c) overflowed at ~58% of it.
    const codec = new URL('../../lib/session/attribute-codec.js', import.meta.url).href;
    const script = `
      const nest = (d) => { let v = [1]; for (let i = 0; i < d; i++) v = [v]; return v; };
      const fits = (d) => { try { JSON.stringify(nest(d)); return true; } catch (e) { if (e instanceof RangeError) return false; throw e; } };
      let lo = 1, hi = 1 << 20;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (fits(mid)) lo = mid; else hi = mid - 1; }
      const depth = Math.floor(lo * 0.75);
      const { encodeAttribute } = await import(${JSON.stringify(codec)});
      try { encodeAttribute('k', nest(depth), 1 << 30); console.log('ok ' + depth + ' of ' + lo); }
      catch (e) { console.log(e.constructor.name + ' at ' + depth + ' of ' + lo + ': ' + e.message); }
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    assert.match(out, /^ok /);
  });
});
