// The cache's one leave listener (wired to the last-access writer in session.providers.ts):
// told of every entry that leaves, and set once only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionCache, type CacheEntry } from '../../lib/cache/session.cache.js';
import type { SessionSnapshot } from '../../lib/session/session-snapshot.js';
import { StoredAttributes } from '../../lib/session/stored-attributes.js';

const snap = (id: string, userId = 'u'): SessionSnapshot =>
  Object.freeze({ id, userId, groupId: null, version: 1, createdAt: 0, updatedAt: 0, lastAccessed: 0, expiresAt: Date.now() + 60_000, includeInactivity: false, attributes: StoredAttributes.empty });

function put(cache: SessionCache, id: string, userId = 'u'): void {
  const ticket = cache.begin();
  assert.equal(cache.offer(snap(id, userId), ticket, 0), true);
  cache.end(ticket);
}

describe('SessionCache leave listener', () => {
  it('a cache built directly has none, and entries still leave quietly', () => {
    const cache = new SessionCache(1);
    put(cache, 'a');
    put(cache, 'b');
    assert.equal(cache.peek('a'), undefined);
  });

  it('is told of every entry that leaves: evicted, invalidated by id or by user, cleared', () => {
    const cache = new SessionCache(2);
    const left: string[] = [];
    cache.setLeaveListener((entry: CacheEntry) => left.push(entry.snapshot.id));
    put(cache, 'a');
    put(cache, 'b');
    put(cache, 'c'); // evicts a
    cache.invalidateSessions(['b']);
    put(cache, 'd', 'other');
    cache.invalidateUsers(['u']); // c
    cache.clear(); // d
    assert.deepEqual(left, ['a', 'b', 'c', 'd']);
  });

  it('a second listener is refused and the first stays', () => {
    const cache = new SessionCache(1);
    const first: string[] = [];
    cache.setLeaveListener((entry) => first.push(entry.snapshot.id));
    assert.throws(() => cache.setLeaveListener(() => undefined), /a leave listener is set already/);
    put(cache, 'a');
    put(cache, 'b');
    assert.deepEqual(first, ['a']);
  });
});
