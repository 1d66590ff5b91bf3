// The ticket/generation protocol on its own (no cache, no database): which results a
// ticket may still cache after invalidations, epoch bumps and the pruning of stamps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CacheGenerations } from '../../lib/cache/cache.generations.js';

const keys = { id: 's1', userId: 'u1', groupId: 'g1' };

describe('CacheGenerations', () => {
  it('a ticket with nothing invalidated since is not stale', () => {
    const g = new CacheGenerations();
    const t = g.begin();
    assert.equal(g.isStale(keys, t), false);
    g.end(t);
  });

  it('a stamp on the session, the user or the group after the ticket makes it stale', () => {
    for (const stamp of [
      (g: CacheGenerations) => g.stampSession('s1'),
      (g: CacheGenerations) => g.stampUser('u1'),
      (g: CacheGenerations) => g.stampGroup('g1'),
    ]) {
      const g = new CacheGenerations();
      const t = g.begin();
      stamp(g);
      assert.equal(g.isStale(keys, t), true);
      g.end(t);
    }
  });

  it('stamps on other keys, and stamps made before the ticket, do not', () => {
    const g = new CacheGenerations();
    const hold = g.begin(); // keeps the stamps below alive
    g.stampSession('s1');
    g.stampUser('u1');
    g.stampGroup('g1');
    const t = g.begin();
    g.stampSession('s2');
    g.stampUser('u2');
    g.stampGroup('g2');
    g.stampUser('s1'); // a user whose name is a session id: the kinds do not mix
    assert.equal(g.isStale(keys, t), false);
    assert.equal(g.isStale({ ...keys, groupId: null }, t), false);
    assert.equal(g.isStale(keys, hold), true);
    g.end(t);
    g.end(hold);
  });

  it('a result without a group is not made stale by group stamps', () => {
    const g = new CacheGenerations();
    const t = g.begin();
    g.stampGroup('g1');
    assert.equal(g.isStale({ ...keys, groupId: null }, t), false);
    assert.equal(g.isStale(keys, t), true);
    g.end(t);
  });

  it('an epoch bump makes every ticket taken before it stale, and none taken after', () => {
    const g = new CacheGenerations();
    const before = g.begin();
    g.bumpEpoch();
    const after = g.begin();
    assert.equal(g.isStale(keys, before), true);
    assert.equal(g.isStale({ id: 'x', userId: 'y', groupId: null }, before), true, 'whatever it covers');
    assert.equal(g.isStale(keys, after), false);
    g.end(before);
    g.end(after);
  });

  it('ending a ticket keeps the stamps a younger ticket in flight needs', () => {
    const g = new CacheGenerations();
    const old = g.begin();
    g.stampSession('s1');
    const young = g.begin();
    g.stampSession('s2');
    g.end(old);
    assert.equal(g.isStale({ ...keys, id: 's2' }, young), true, 'the stamp after the young ticket is kept');
    assert.equal(g.isStale(keys, young), false, 'the stamp before it does not count');
    assert.equal(g.stampCount, 1, 'the stamp before the young ticket is dropped');
    g.end(young);
  });

  it('a re-stamped key moves to the end, so pruning stops only at stamps still needed', () => {
    const g = new CacheGenerations();
    const old = g.begin();
    g.stampSession('a');
    g.stampSession('b');
    const young = g.begin();
    g.stampSession('a'); // now newer than `young`
    g.end(old);
    assert.equal(g.stampCount, 1, 'b dropped, a kept');
    assert.equal(g.isStale({ id: 'a', userId: 'u', groupId: null }, young), true);
    assert.equal(g.isStale({ id: 'b', userId: 'u', groupId: null }, young), false);
    g.end(young);
  });

  it('keeps no stamps made while no ticket is in flight (a node that only hears invalidations)', () => {
    const g = new CacheGenerations();
    // No operation in flight: no ticket can be older than these, so none of them is needed.
    for (let i = 0; i < 1000; i++) {
      g.stampSession(`s${i}`);
      g.stampUser(`u${i}`);
      g.stampGroup(`g${i}`);
    }
    assert.equal(g.stampCount, 0);
    const t = g.begin();
    assert.equal(g.isStale(keys, t), false, 'a ticket taken afterwards is not stale');
    g.stampUser('u1');
    assert.equal(g.isStale(keys, t), true, 'a stamp after it still counts');
    g.end(t);
  });

  it('keeps no stamps once the last ticket in flight has ended', () => {
    const g = new CacheGenerations();
    const t = g.begin();
    for (let i = 0; i < 1000; i++) g.stampSession(`s${i}`);
    assert.equal(g.stampCount, 1000);
    g.end(t);
    assert.equal(g.stampCount, 0);
  });
});
