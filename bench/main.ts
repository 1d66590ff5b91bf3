// Benchmarks this library against connect-pg-simple, connect-redis and the physical
// floors, in one run, on one machine. Usage (see docs/performance.md):
//   npm run bench          full run: prints the table, writes bench/results.json
//   npm run bench:smoke    tiny sizes, one run (CI): must finish and print the table
//   npm run bench -- --only=update,invalidation   some scenarios only (results.json untouched)
//   npm run bench -- --only=read-miss,update --prepared-statements=both   adds rows of a second library
//                                                 node with unnamed statements (what a transaction pooler costs)
import 'reflect-metadata';
import { cpus } from 'node:os';
import { expressSessionFor, makeDataSet } from './data.js';
import { bulkInsertSessions, createBenchDatabase, type BenchDatabase } from './db.js';
import { PgSimplePeer } from './peers/connect-pg-simple.js';
import { RedisPeer } from './peers/connect-redis.js';
import { startBenchNode, type BenchNode } from './peers/ours.js';
import { findRedisServer, startRedisServer, type RedisServer } from './peers/redis-server.js';
import { HandBatchedUpdate } from './peers/hand-batched-update.js';
import { SqlFloor } from './peers/sql-floor.js';
import { computeTargets, markdown, writeResults, type BenchResults } from './report.js';
import type { BenchConfig, BenchContext, LastAccessResult, MemoryResult, TimingRow } from './scenarios/common.js';
import { expressSessionRequest } from './scenarios/express-session.js';
import { invalidation } from './scenarios/invalidation.js';
import { lastAccess } from './scenarios/last-access.js';
import { memory } from './scenarios/memory.js';
import { readHit, readMiss } from './scenarios/reads.js';
import { create, update } from './scenarios/writes.js';

const FULL: BenchConfig = {
  sessions: 10_000,
  runs: 5,
  inFlight: 32,
  fastOps: 200_000,
  serverOpsSeq: 2_000,
  serverOpsConcurrent: 5_000,
  createOps: 1_000,
  invalidationOps: 1000,
  warmupFast: 50_000,
  warmupServer: 300,
  memorySessions: 100_000,
  lastAccessReads: 10_000,
  lastAccessBatchSize: 5_000,
};

const SMOKE: BenchConfig = {
  sessions: 200,
  runs: 1,
  inFlight: 32,
  fastOps: 2_000,
  serverOpsSeq: 100,
  serverOpsConcurrent: 200,
  createOps: 100,
  invalidationOps: 30,
  warmupFast: 500,
  warmupServer: 20,
  memorySessions: 1_000,
  lastAccessReads: 200,
  lastAccessBatchSize: 100,
};

const started = Date.now();
function progress(line: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

/** Runs `op` on every index with `inFlight` at a time (setup only, untimed). */
async function forEachIndex(count: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      await op(i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** Scenarios given with `--only=a,b` (for working on one of them); all by default. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const SCENARIOS = ['read-hit', 'read-miss', 'update', 'create', 'invalidation', 'last-access', 'memory', 'express-session'];
const unknown = only?.filter((name) => !SCENARIOS.includes(name)) ?? [];
if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
/**
 * `--prepared-statements=true|false|auto`: the library node's `preparedStatements` option;
 * `both`: the node as by default plus a second one with unnamed statements, timed in the same runs.
 */
const preparedFlag = process.argv.find((a) => a.startsWith('--prepared-statements='))?.slice('--prepared-statements='.length);
if (preparedFlag !== undefined && !['true', 'false', 'auto', 'both'].includes(preparedFlag)) {
  throw new Error(`--prepared-statements must be true, false, auto or both, got ${preparedFlag}`);
}
const preparedStatements: 'auto' | boolean = preparedFlag === 'true' ? true : preparedFlag === 'false' ? false : 'auto';
if (preparedFlag !== undefined && only === undefined) throw new Error('--prepared-statements is for runs of some scenarios (--only=...), which leave bench/results.json as it was');
function selected(scenario: string): boolean {
  return only === undefined || only.includes(scenario);
}

async function main(): Promise<number> {
  const smoke = process.argv.includes('--smoke');
  const config = smoke ? SMOKE : FULL;
  const data = makeDataSet(config.sessions);
  progress(`${smoke ? 'smoke' : 'full'} run: ${config.sessions} sessions × 5 attributes (~${data.avgJsonBytes.toFixed(0)} B JSON each), ${config.runs} run(s) per figure`);

  const cleanups: Array<() => Promise<unknown>> = [];
  let db: BenchDatabase | undefined;
  let redisServer: RedisServer | undefined;
  let node: BenchNode | undefined;
  let unnamedNode: BenchNode | undefined;
  try {
    db = await createBenchDatabase();
    const pgVersion = `PostgreSQL ${(await db.admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version}`;
    const fsync = (await db.admin.query<{ fsync: string }>('SHOW fsync')).rows[0]!.fsync;
    const syncCommit = (await db.admin.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit;
    progress(`database ${db.name} on ${pgVersion} (fsync=${fsync}, synchronous_commit=${syncCommit})`);

    let redis: RedisPeer | null = null;
    let redisSkipped: string | null = null;
    const redisBinary = findRedisServer();
    if (redisBinary) {
      redisServer = await startRedisServer(redisBinary);
      redis = await RedisPeer.start(redisServer.url);
      cleanups.push(() => redis!.close());
      progress(`redis-server ${redisServer.version} on ${redisServer.url} (no persistence)`);
    } else {
      redisSkipped = 'redis-server not found';
      progress('connect-redis rows: skipped: redis-server not found');
    }

    progress('loading the data set into the library tables, the floor tables, connect-pg-simple and connect-redis...');
    progress(`library node: preparedStatements ${String(preparedStatements)}`);
    node = await startBenchNode('node-A', { connectionString: db.url, createSchemaIfMissing: true, preparedStatements, cacheSize: Math.max(200_000, config.sessions * 4) });
    await bulkInsertSessions(db.admin, { sessions: 'sessions', attributes: 'session_attributes' }, data.size, (i) => data.ids[i]!);
    await SqlFloor.createTables(db.admin);
    const floor = new SqlFloor(db.url);
    cleanups.push(() => floor.close());
    const pgSimple = new PgSimplePeer(db.url);
    cleanups.push(() => pgSimple.close());
    await forEachIndex(data.size, 32, (i) => pgSimple.set(data.ids[i]!, expressSessionFor(i)));
    await db.admin.query('ANALYZE session');
    if (redis) await forEachIndex(data.size, 32, (i) => redis!.set(data.ids[i]!, expressSessionFor(i)));
    // Every session read once: from now on the library's node holds all of them.
    await forEachIndex(data.size, 32, (i) => node!.sessions.getSession(data.ids[i]!));
    if (node.sessions.stats().cacheSize !== data.size) throw new Error('the library node did not cache every session');
    await node.sessions.flushLastAccess();
    if (preparedFlag === 'both') {
      progress('loading a second copy of the data set for the node with unnamed statements (table prefix unnamed_)...');
      unnamedNode = await startBenchNode('node-unnamed', {
        connectionString: db.url, createSchemaIfMissing: true, tablePrefix: 'unnamed_', preparedStatements: false,
        cacheSize: Math.max(200_000, config.sessions * 4),
      });
      await bulkInsertSessions(db.admin, { sessions: 'unnamed_sessions', attributes: 'unnamed_session_attributes' }, data.size, (i) => data.ids[i]!);
      await forEachIndex(data.size, 32, (i) => unnamedNode!.sessions.getSession(data.ids[i]!));
      await unnamedNode.sessions.flushLastAccess();
    }

    const rows: TimingRow[] = [];
    const handBatched = await HandBatchedUpdate.start(floor.pool, db.url);
    cleanups.push(() => handBatched.close());
    const ctx: BenchContext = { smoke, config, data, db, node, unnamedNode, floor, handBatched, pgSimple, redis, redisSkipped, rows, progress };
    if (selected('read-hit')) await readHit(ctx);
    if (selected('read-miss')) await readMiss(ctx);
    if (selected('update')) await update(ctx);
    if (selected('create')) await create(ctx);
    if (selected('invalidation')) await invalidation(ctx);
    if (selected('express-session')) await expressSessionRequest(ctx);
    const last: LastAccessResult | null = selected('last-access') ? await lastAccess(ctx) : null;
    await unnamedNode?.close();
    unnamedNode = undefined;
    await node.close();
    node = undefined;
    for (const c of cleanups.splice(0).reverse()) await c();
    const mem: MemoryResult | null = selected('memory') ? await memory(ctx) : null;

    const results: BenchResults = {
      environment: {
        mode: smoke ? 'smoke' : 'full',
        node: process.version,
        cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
        cpus: cpus().length,
        postgres: `${pgVersion} (fsync=${fsync}, synchronous_commit=${syncCommit})`,
        redis: redisServer ? redisServer.version : 'not run (redis-server not found)',
        startedAt: new Date(started).toISOString(),
        durationSec: (Date.now() - started) / 1000,
        avgJsonBytes: data.avgJsonBytes,
      },
      config,
      rows,
      memory: mem,
      lastAccess: last,
      targets: computeTargets(rows, mem, last),
    };
    process.stdout.write(`${markdown(results)}\n`);
    if (only === undefined) {
      const out = new URL('../../bench/results.json', import.meta.url);
      writeResults(out, results);
      progress(`wrote ${out.pathname}`);
    } else {
      progress('a run of some scenarios (--only) leaves bench/results.json as it was');
    }
    return 0;
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => progress(`cleanup failed: ${String(err)}`));
    if (unnamedNode) await unnamedNode.close().catch(() => undefined);
    if (node) await node.close().catch(() => undefined);
    if (redisServer) await redisServer.stop();
    if (db) await db.drop().catch((err: unknown) => progress(`could not drop the bench database: ${String(err)}`));
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
