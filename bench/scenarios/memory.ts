import { LRUCache } from 'lru-cache';
import { attributesFor, jsonBytesFor, uuidFor } from '../data.js';
import { bulkInsertSessions } from '../db.js';
import { startBenchNode } from '../peers/ours.js';
import type { BenchContext, MemoryResult } from './common.js';

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/** A string with its own storage (not a slice or a cons of another), like one read from a socket. */
function ownString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * Heap per cached session: a node with cacheSize = N fills its cache with N sessions
 * (bulk-inserted with SQL, then each read once through getSession) and the heap
 * delta after a full GC is divided by N. Next to it: the JSON size of one session's
 * attributes and, as a floor, an lru-cache holding each session's JSON string.
 */
export async function memory(ctx: BenchContext): Promise<MemoryResult> {
  const n = ctx.config.memorySessions;
  let jsonBytes = 0;
  for (let i = 0; i < n; i++) jsonBytes += jsonBytesFor(i);
  const avgJsonBytes = jsonBytes / n;
  const targetBytes = 2 * avgJsonBytes + 512;
  if (!gc) {
    const skipped = 'run node with --expose-gc';
    ctx.progress(`memory: skipped: ${skipped}`);
    return { sessions: n, avgJsonBytes, bytesPerSession: NaN, pendingAccessBytesPerSession: NaN, floorBytesPerEntry: NaN, targetBytes, skipped };
  }
  ctx.progress(`memory | inserting ${n} sessions with SQL...`);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(uuidFor('memory', i));
  const node = await startBenchNode('memory-node', { connectionString: ctx.db.url, tablePrefix: 'mem_', createSchemaIfMissing: true, cacheSize: n });
  try {
    await bulkInsertSessions(ctx.db.admin, { sessions: 'mem_sessions', attributes: 'mem_session_attributes' }, n, (i) => ids[i]!);
    ctx.progress(`memory | reading ${n} sessions once through getSession...`);
    const base = heapAfterGc();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await node.sessions.getSession(ids[i]!);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const stats = node.sessions.stats();
    if (stats.cacheSize !== n) throw new Error(`expected ${n} cached sessions, the cache holds ${stats.cacheSize}`);
    const filled = heapAfterGc();
    await node.sessions.flushLastAccess();
    const flushed = heapAfterGc();

    // Floor: the JSON string of each session in an lru-cache.
    const floorBase = heapAfterGc();
    let lru: LRUCache<string, string> | undefined = new LRUCache<string, string>({ max: n });
    for (let i = 0; i < n; i++) lru.set(ownString(ids[i]!), JSON.stringify(attributesFor(i)));
    const floorFilled = heapAfterGc();
    if (lru.size !== n) throw new Error('floor lru lost entries');
    lru = undefined;

    const result: MemoryResult = {
      sessions: n,
      avgJsonBytes,
      bytesPerSession: (flushed - base) / n,
      pendingAccessBytesPerSession: (filled - flushed) / n,
      floorBytesPerEntry: (floorFilled - floorBase) / n,
      targetBytes,
    };
    ctx.progress(
      `memory | ${n} cached sessions: ${result.bytesPerSession.toFixed(0)} B heap each (JSON ${avgJsonBytes.toFixed(0)} B; ` +
        `+${result.pendingAccessBytesPerSession.toFixed(0)} B while its last access is pending); lru-cache of JSON strings: ${result.floorBytesPerEntry.toFixed(0)} B`,
    );
    return result;
  } finally {
    await node.close();
  }
}
