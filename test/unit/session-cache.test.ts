// Pure logic of the per-node cache: the generation checks that keep a slow read
// from putting an old copy back after an invalidation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CacheGenerations } from '../../lib/cache/cache.generations.js';
import { lastTickBefore, TICK_MS, tickOf, ticksWithin } from '../../lib/cache/coarse-clock.js';
import { SessionCache } from '../../lib/cache/session.cache.js';
import type { SessionSnapshot } from '../../lib/session/session-snapshot.js';
import { StoredAttributes } from '../../lib/session/stored-attributes.js';

const snap = (version: number, userId = 'u', groupId: string | null = null): SessionSnapshot =>
  Object.freeze({ id: 'id-1', userId, groupId, version, createdAt: 0, updatedAt: 0, lastAccessed: 0, expiresAt: Date.now() + 60_000, includeInactivity: false, attributes: StoredAttributes.empty });

describe('SessionCache generations', () => {
  it('a read that began before an invalidation of its session cannot cache its result', () => {
    const cache = new SessionCache(10);
    const ticket = cache.begin();
    cache.invalidateSessions(['id-1']);
    assert.equal(cache.offer(snap(1), ticket, 0), false);
    cache.end(ticket);
    assert.equal(cache.get('id-1'), undefined);
  });

  it('… nor after an invalidation of its user, its group, or a clear', () => {
    for (const invalidate of [
      (c: SessionCache) => c.invalidateUsers(['u']),
      (c: SessionCache) => c.invalidateGroups(['g']),
      (c: SessionCache) => c.clear(),
      (c: SessionCache) => c.setServing(false),
    ]) {
      const cache = new SessionCache(10);
      const ticket = cache.begin();
      invalidate(cache);
      cache.setServing(true);
      assert.equal(cache.offer(snap(1, 'u', 'g'), ticket, 0), false);
      cache.end(ticket);
    }
  });

  it('an operation begun while not serving (a LISTEN outage) cannot cache after serving resumes', () => {
    const cache = new SessionCache(10);
    cache.setServing(false);
    const read = cache.begin();
    const write = cache.begin();
    // Another node's change is missed here; the resync cannot check what is not cached yet.
    cache.setServing(true);
    assert.equal(cache.offer(snap(1), read, 0), false, 'a read from the gap');
    cache.commit(snap(2), write, 0);
    assert.equal(cache.get('id-1'), undefined, 'a write from the gap');
    cache.end(read);
    cache.end(write);
    const after = cache.begin();
    assert.equal(cache.offer(snap(2), after, 0), true, 'an operation begun after the resume caches');
    cache.end(after);
  });

  it('pruning keeps every stamp a ticket in flight still needs, and drops the rest', () => {
    const cache = new SessionCache(10);
    const stamps = () => (cache as unknown as { generations: CacheGenerations }).generations.stampCount;
    const old = cache.begin();
    cache.invalidateSessions(['id-1']);
    for (let i = 0; i < 20_000; i++) {
      const t = cache.begin();
      cache.invalidateSessions([`other-${i}`]);
      cache.end(t);
    }
    assert.equal(cache.offer(snap(1), old, 0), false, 'the stamp newer than the oldest ticket was kept');
    const later = cache.begin();
    cache.end(old);
    assert.equal(stamps(), 0, 'once the oldest ticket ended, stamps not newer than the next one are dropped');
    cache.invalidateSessions(['id-1']);
    assert.equal(cache.offer(snap(1), later, 0), false);
    cache.end(later);
  });

  it('an invalidation of another session does not stop a read from caching', () => {
    const cache = new SessionCache(10);
    const ticket = cache.begin();
    cache.invalidateSessions(['other']);
    cache.invalidateUsers(['other-user']);
    assert.equal(cache.offer(snap(1), ticket, 0), true);
    cache.end(ticket);
    assert.equal(cache.get('id-1')?.snapshot.version, 1);
  });

  it('an older version never replaces a newer cached one; a local write wins over reads in flight', () => {
    const cache = new SessionCache(10);
    const read = cache.begin();
    const write = cache.begin();
    cache.commit(snap(2), write, 0);
    cache.end(write);
    assert.equal(cache.offer(snap(1), read, 0), false, 'the read began before the write committed');
    cache.end(read);
    const late = cache.begin();
    assert.equal(cache.offer(snap(1), late, 0), false, 'older than the cached version');
    cache.end(late);
    assert.equal(cache.get('id-1')?.snapshot.version, 2);
  });

  it('a local write whose session was invalidated by someone else meanwhile is dropped, not cached', () => {
    const cache = new SessionCache(10);
    const write = cache.begin();
    cache.invalidateSessions(['id-1']);
    cache.commit(snap(2), write, 0);
    cache.end(write);
    assert.equal(cache.get('id-1'), undefined);
  });

  it('a read refreshes recency once per tick: the entry read in a later tick survives the next eviction', () => {
    const cache = new SessionCache(2);
    const t = cache.begin();
    const s = (id: string) => Object.freeze({ ...snap(1), id });
    cache.offer(s('a'), t, 0); // last access at epoch 0: its access tick lies far in the past
    cache.offer(s('b'), t, 0);
    const now = tickOf(Date.now());
    assert.ok(cache.get('a', now), 'a is read in the current tick');
    cache.offer(s('c'), t, 0);
    assert.deepEqual([cache.peek('a') !== undefined, cache.peek('b') !== undefined], [true, false], 'b, not a, was evicted');
    // Order now: a, then c. Within the tick of a's last access, a read leaves the order
    // alone (recency is exact to the tick), so a is still the one evicted next.
    cache.get('a', cache.peek('a')!.accessTick);
    cache.offer(s('d'), t, 0);
    assert.deepEqual([cache.peek('a') !== undefined, cache.peek('c') !== undefined], [false, true], 'a, not c, was evicted');
    cache.end(t);
  });

  it('keeps user and group indexes in step with evictions and group moves', () => {
    const cache = new SessionCache(2);
    const t = cache.begin();
    const s = (id: string, groupId: string | null) => Object.freeze({ ...snap(1, 'u', groupId), id });
    cache.offer(s('a', 'g1'), t, 0);
    cache.offer(s('b', 'g1'), t, 0);
    cache.offer(s('c', 'g2'), t, 0); // evicts a
    assert.deepEqual(cache.userSessionIds('u').sort(), ['b', 'c']);
    cache.commit(Object.freeze({ ...s('b', 'g2'), version: 2 }), t, 0);
    cache.invalidateGroups(['g1']);
    assert.equal(cache.get('b')?.snapshot.groupId, 'g2', 'b moved out of g1');
    cache.invalidateGroups(['g2']);
    assert.equal(cache.size, 0);
    cache.end(t);
  });
});

describe('coarse clock of the hit path', () => {
  // Deterministic pseudo-random moments around now, at millisecond resolution.
  let seed = 42;
  const next = (range: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % range;
  };

  it('a moment in a tick up to lastTickBefore(deadline) is always before the deadline', () => {
    const base = Date.now();
    let passed = 0;
    for (let i = 0; i < 20_000; i++) {
      const deadline = base + next(20_000);
      const now = deadline - 4 * TICK_MS + next(6 * TICK_MS);
      if (tickOf(now) <= lastTickBefore(deadline)) {
        passed++;
        assert.ok(now < deadline, `now ${now} deadline ${deadline}`);
      }
    }
    assert.ok(passed > 5_000, 'the coarse check accepts most moments well before the deadline');
  });

  it('two moments at most ticksWithin(d) ticks apart are at most d apart', () => {
    const base = Date.now();
    let passed = 0;
    for (let i = 0; i < 20_000; i++) {
      const duration = next(10_000);
      const last = base + next(10_000);
      const now = last + next(duration + 3 * TICK_MS);
      if (tickOf(now) - tickOf(last) <= ticksWithin(duration)) {
        passed++;
        assert.ok(now - last <= duration, `now ${now} last ${last} duration ${duration}`);
      }
    }
    assert.ok(passed > 2_000, 'the coarse check accepts most moments well within the duration');
  });

  it('no limit stays a small integer', () => {
    assert.ok(Number.isSafeInteger(lastTickBefore(Infinity)) && lastTickBefore(Infinity) < 2 ** 30);
    assert.ok(Number.isSafeInteger(ticksWithin(Infinity)) && ticksWithin(Infinity) < 2 ** 30);
  });
});
