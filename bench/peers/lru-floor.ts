import { LRUCache } from 'lru-cache';
import { attributesFor, type DataSet } from '../data.js';

/**
 * The in-process floor of a cache hit: `lru-cache` `get` of the session object,
 * in the same process, synchronously (no promise, no validation, no copy).
 */
export function lruFloor(data: DataSet): LRUCache<string, object> {
  const lru = new LRUCache<string, object>({ max: Math.max(data.size * 2, 1000) });
  for (let i = 0; i < data.size; i++) lru.set(data.ids[i]!, { id: data.ids[i], userId: data.userIds[i], version: 1, attributes: attributesFor(i) });
  return lru;
}
