// What both update diagnostics (update-cycle, update-parts) start: the bench's data set in
// the library's tables and in the floor tables, a library node with every session cached,
// and the hand-batched reference.
import { makeDataSet } from '../data.js';
import { bulkInsertSessions, createBenchDatabase, type BenchDatabase } from '../db.js';
import { HandBatchedUpdate } from '../peers/hand-batched-update.js';
import { startBenchNode, type BenchNode } from '../peers/ours.js';
import { SqlFloor } from '../peers/sql-floor.js';

/** A positive integer `--name=value` option of the command line, or `fallback`. */
export function positiveIntegerArg(name: string, fallback: number): number {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return value;
}

export interface UpdateLoop {
  readonly db: BenchDatabase;
  readonly node: BenchNode;
  readonly floor: SqlFloor;
  readonly hand: HandBatchedUpdate;
  /** The session id the n-th operation updates (random order over the data set). */
  key(n: number): string;
  close(): Promise<void>;
}

/** Loads `sessions` sessions, starts a node (all of them cached) and the reference. */
export async function startUpdateLoop(sessions: number): Promise<UpdateLoop> {
  const data = makeDataSet(sessions);
  const db = await createBenchDatabase();
  const node = await startBenchNode('node-A', { connectionString: db.url, createSchemaIfMissing: true, cacheSize: 4 * sessions });
  await bulkInsertSessions(db.admin, { sessions: 'sessions', attributes: 'session_attributes' }, data.size, (i) => data.ids[i]!);
  await SqlFloor.createTables(db.admin);
  const floor = new SqlFloor(db.url);
  const hand = await HandBatchedUpdate.start(floor.pool, db.url);
  for (let i = 0; i < sessions; i += 32) await Promise.all(data.ids.slice(i, i + 32).map((id) => node.sessions.getSession(id)));
  return {
    db, node, floor, hand,
    key: (n) => data.ids[data.order[n % data.size]!]!,
    async close() {
      await hand.close();
      await floor.close();
      await node.close();
      await db.drop();
    },
  };
}
