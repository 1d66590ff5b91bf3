import { lruFloor } from '../peers/lru-floor.js';
import { compare, keyIndex, type BenchContext, type ImplSpec } from './common.js';

/** Throws unless the library's counters moved as a run of pure cache hits (or misses) must. */
function expectCounters(ctx: BenchContext, kind: 'hits' | 'misses'): () => (ops: number) => void {
  return () => {
    const before = ctx.node.sessions.stats();
    return (ops) => {
      const after = ctx.node.sessions.stats();
      const hits = after.cacheHits - before.cacheHits;
      const misses = after.cacheMisses - before.cacheMisses;
      const ok = kind === 'hits' ? hits === ops && misses === 0 : misses === ops && hits === 0;
      if (!ok) throw new Error(`expected ${ops} cache ${kind}, saw ${hits} hits and ${misses} misses`);
    };
  };
}

/** Read, cache hit: getSession vs lru-cache get (floor) vs connect-pg-simple get and connect-redis get. */
export async function readHit(ctx: BenchContext): Promise<void> {
  const { data, node, pgSimple, redis } = ctx;
  const lru = lruFloor(data);
  // The same ids as new strings: a real lookup key (from a cookie) is never the very
  // string object the cache stored, and neither are ours (the cache keys come from rows).
  const freshIds = data.ids.map((id) => [...id].join(''));
  let sink = 0;
  const impls: ImplSpec[] = [
    {
      impl: 'this library: getSession', role: 'ours', fast: true,
      op: (n) => node.sessions.getSession(data.ids[keyIndex(data, n)]!),
      check: expectCounters(ctx, 'hits'),
    },
    {
      impl: 'this library: getSession + getAttribute', role: 'ours', fast: true,
      op: (n) => node.sessions.getSession(data.ids[keyIndex(data, n)]!).then((s) => s.getAttribute('user')),
      note: 'also parses one attribute (lazily, on first use)',
    },
    {
      impl: 'floor: lru-cache get', role: 'floor', fast: true,
      op: (n) => {
        const v = lru.get(data.ids[keyIndex(data, n)]!);
        if (v === undefined) throw new Error('lru miss');
        sink++;
        return v;
      },
    },
    {
      impl: 'reference: lru-cache get, key equal but not the stored string', role: 'reference', fast: true,
      op: (n) => {
        const v = lru.get(freshIds[keyIndex(data, n)]!);
        if (v === undefined) throw new Error('lru miss');
        sink++;
        return v;
      },
      note: 'as with an id parsed from a request: the Map compares the characters, not just the pointer',
    },
    {
      impl: 'reference: lru-cache get behind an async API', role: 'reference', fast: true,
      op: (n) => {
        const v = lru.get(data.ids[keyIndex(data, n)]!);
        if (v === undefined) return Promise.reject(new Error('lru miss'));
        return Promise.resolve(v);
      },
      note: 'what returning a Promise (and awaiting it) costs on top of the floor; getSession must return one',
    },
    { impl: 'connect-pg-simple get', role: 'peer', op: (n) => pgSimple.get(data.ids[keyIndex(data, n)]!) },
    {
      impl: 'connect-redis get', role: 'peer', skipped: ctx.redisSkipped ?? undefined,
      op: redis ? (n) => redis.get(data.ids[keyIndex(data, n)]!) : undefined,
    },
  ];
  await compare(ctx, 'read, cache hit', impls, ['seq', 'in-flight'], { seq: ctx.config.serverOpsSeq, inFlight: ctx.config.serverOpsConcurrent });
  if (sink < 0) console.log(sink);
}

/** Read, cache miss: getSession with forceRefresh vs one primary-key SELECT joining the attributes. */
export async function readMiss(ctx: BenchContext): Promise<void> {
  const { data, node, floor, unnamedNode } = ctx;
  const impls: ImplSpec[] = [
    {
      impl: 'this library: getSession forceRefresh', role: 'ours',
      op: (n) => node.sessions.getSession(data.ids[keyIndex(data, n)]!, { forceRefresh: true }),
      check: expectCounters(ctx, 'misses'),
    },
    ...(unnamedNode
      ? [{
          impl: 'unnamed statements (preparedStatements: false): getSession forceRefresh', role: 'reference' as const,
          op: (n: number) => unnamedNode.sessions.getSession(data.ids[keyIndex(data, n)]!, { forceRefresh: true }),
          note: 'what a transaction pooler costs in PostgreSQL: each call parsed and planned again',
        }]
      : []),
    {
      impl: 'floor: PK SELECT join attributes', role: 'floor',
      op: async (n) => {
        const r = await floor.get(data.ids[keyIndex(data, n)]!);
        if (r.rows.length === 0) throw new Error('floor get: no row');
      },
    },
  ];
  await compare(ctx, 'read, cache miss', impls, ['seq', 'in-flight'], { seq: ctx.config.serverOpsSeq, inFlight: ctx.config.serverOpsConcurrent });
}
