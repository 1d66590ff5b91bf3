import { LRUCache } from 'lru-cache';
import pg from 'pg';
import { booleanArray, numberArray, textArray, uuidArray } from '../../lib/store/array-literal.js';
import { batchUpdateStatements } from '../../lib/store/batch-update.statements.js';
import { createSchemaStatements } from '../../lib/store/schema.sql.js';
import type { TableNames } from '../../lib/store/table-names.js';
import { UPDATED_KEY } from '../data.js';
import { HandBatchedUpdate, type Pending } from './hand-batched-update.js';

/** The library's default idle limit (inactivityDuration), sent as the statement's parameter. */
const IDLE_LIMIT_MS = 48 * 3600_000;

/** A session as the by-hand driver caches it (with `cacheStates`): its version and its attributes (key, JSON, version). */
interface CachedState {
  readonly version: number;
  readonly attributes: ReadonlyArray<readonly [string, string, number]>;
}

/**
 * The library's batch-update statement driven by the hand-batched reference's minimal
 * batcher instead of the library: the same parameters and result as the library sends
 * and reads for an update of one attribute (no checks), built in one pass, with the
 * versions kept here. Beside the library and the reference it splits the gap between
 * them into the statement's share and the library's own work per update on the node
 * (cache, views, commands, decoding). Runs on its own copy of the library's tables
 * (`tables`), whose NOTIFY a LISTEN client of its own hears.
 *
 * With `cacheStates`, it also does by hand the least of what the library does on the
 * node besides the statement: every update reads its session from a bounded LRU cache
 * (lru-cache, as the library's), and every applied update puts the session's new state
 * there (its new version, the written attribute replaced in a copy of the attributes).
 * No checks of its own, no views, no tickets: the hand-written best case of the same work.
 */
export class LibraryStatementByHand extends HandBatchedUpdate {
  private readonly statement;
  private readonly versions = new Map<string, number>();
  private readonly created = new Map<string, number>();
  private states: LRUCache<string, CachedState> | undefined;

  private constructor(pool: pg.Pool, listener: pg.Client, private readonly tables: TableNames) {
    super(pool, listener);
    this.statement = batchUpdateStatements(tables)({ checks: false, deletes: false });
  }

  override update(id: string, value: unknown): Promise<void> {
    // `peek`, not `get`: the `set` after the update moves the entry to the head of the LRU
    // list anyway (the library's cache refreshes recency on a read at most once a second).
    if (this.states !== undefined && this.states.peek(id) === undefined) return Promise.reject(new Error(`session ${id} is not cached`));
    return super.update(id, value);
  }

  /** Copies the rows of `from` (the library's tables) into `tables` and starts; caches every session with `cacheStates`. */
  static async copyAndStart(
    pool: pg.Pool,
    url: string,
    from: { sessions: string; attributes: string },
    tables: TableNames,
    cacheStates = false,
  ): Promise<LibraryStatementByHand> {
    for (const ddl of createSchemaStatements(tables)) await pool.query(ddl);
    await pool.query(`INSERT INTO ${tables.sessions} SELECT * FROM ${from.sessions}`);
    await pool.query(`INSERT INTO ${tables.attributes} SELECT * FROM ${from.attributes}`);
    await pool.query(`ANALYZE ${tables.sessions}`);
    await pool.query(`ANALYZE ${tables.attributes}`);
    const driver = new LibraryStatementByHand(pool, await HandBatchedUpdate.listen(url, tables.channel), tables);
    const rows = await pool.query<{ id: string; version: number; created: number }>(
      `SELECT id, version, floor(extract(epoch FROM created_at) * 1000)::float8 AS created FROM ${tables.sessions}`,
    );
    for (const row of rows.rows) {
      driver.versions.set(row.id, row.version);
      driver.created.set(row.id, row.created);
    }
    if (cacheStates) {
      const attributes = new Map<string, Array<readonly [string, string, number]>>();
      const stored = await pool.query<{ session_id: string; key: string; value: string; version: number }>(`SELECT session_id, key, value, version FROM ${tables.attributes}`);
      for (const a of stored.rows) {
        let list = attributes.get(a.session_id);
        if (list === undefined) attributes.set(a.session_id, (list = []));
        list.push([a.key, a.value, a.version]);
      }
      driver.states = new LRUCache<string, CachedState>({ max: 4 * rows.rows.length });
      for (const row of rows.rows) driver.states.set(row.id, { version: row.version, attributes: attributes.get(row.id) ?? [] });
    }
    return driver;
  }

  protected override async write(batch: Pending[]): Promise<void> {
    batch.sort((a, b) => (a.id < b.id ? -1 : 1)); // as the library sends them
    const n = batch.length;
    const ids = batch.map((p) => p.id);
    const no = booleanArray(new Array<boolean>(n).fill(false));
    const nulls = new Array<null>(n).fill(null);
    const now = Date.now();
    const values = [
      uuidArray(ids), '{}', numberArray(ids.map((id) => this.versions.get(id)!)), no, textArray(nulls), numberArray(nulls),
      booleanArray(nulls), booleanArray(new Array<boolean>(n).fill(true)), '{}',
      numberArray(ids.map((_, i) => i + 1)), textArray(new Array<string>(n).fill(UPDATED_KEY)), textArray(batch.map((p) => p.value)), numberArray(nulls),
      '{}', '{}', '{}', '{}', '{}', this.tables.channel, 'bench-by-hand', numberArray(new Array<number>(n).fill(now)), IDLE_LIMIT_MS,
      numberArray(ids.map((id) => this.created.get(id)!)), '{}',
    ];
    const r = await this.pool.query<{ ok: [number[] | null, number[] | null, unknown] }>({ name: this.statement.name, text: this.statement.text, values });
    const [applied, versions] = r.rows[0]!.ok;
    if (applied?.length !== n) throw new Error(`the library's statement applied ${applied?.length ?? 0} of ${n} updates`);
    for (let k = 0; k < n; k++) this.versions.set(ids[applied[k]! - 1]!, versions![k]!);
    if (this.states === undefined) return;
    for (let k = 0; k < n; k++) {
      const written = batch[applied[k]! - 1]!;
      const version = versions![k]!;
      const before = this.states.peek(written.id)!.attributes;
      const attributes = before.map((a): readonly [string, string, number] => (a[0] === UPDATED_KEY ? [UPDATED_KEY, written.value, version] : a));
      if (!before.some((a) => a[0] === UPDATED_KEY)) attributes.push([UPDATED_KEY, written.value, version]);
      this.states.set(written.id, { version, attributes });
    }
  }
}
