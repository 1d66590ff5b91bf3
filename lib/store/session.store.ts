import type { QueryResultRow } from 'pg';
import type { SessionDatabase, Statement, Transaction } from './session.database.js';
import type { SessionSnapshot } from '../session/session-snapshot.js';
import { StoredAttributes, type AttributeTuple, type StoredAttribute } from '../session/stored-attributes.js';
import { attributesFromTuples, toSnapshot, type SessionRow } from './session-row.js';
import { sessionStatements, type SessionStatements } from './session.statements.js';
import { singleUpdateStatements, type SingleUpdateShape } from './single-update.statements.js';
import { exactUpdateStatements } from './exact-update.statements.js';
import { batchUpdateStatements, staleBatchUpdateStatements, type BatchUpdateShape } from './batch-update.statements.js';
import { isStatementError } from './commit-outcome.js';
import { booleanArray, numberArray, textArray, uuidArray } from './array-literal.js';
import { frameworkSessionStatements, type FrameworkSessionStatements } from './framework-session.statements.js';
import { WriteBatcher, type BatchOutcome } from './write.batcher.js';

/** What {@link SessionStore.update} writes. */
export interface UpdateCommand {
  id: string;
  checkVersion: boolean;
  expectedVersion: number;
  /** Keys whose stored version must still equal the one read (0 = absent when read). */
  checkedKeys: readonly string[];
  checkedVersions: readonly number[];
  setKeys: readonly string[];
  setValues: readonly string[];
  setExpiries: ReadonlyArray<number | null>;
  deleteKeys: readonly string[];
  groupChanged: boolean;
  groupId: string | null;
  expiresAt: number | null;
  includeInactivity: boolean | null;
  notifyOnSuccess: boolean;
  notifyOnFailure: boolean;
  /** The latest access of the session this node knows of (epoch ms), or null: it counts for idle expiry. */
  lastAccess: number | null;
  /** The state the caller read; the new state is this plus the update, unless someone else changed it meanwhile. */
  base: SessionSnapshot;
}

/** Outcome of one update statement. */
export type UpdateResult =
  | { kind: 'ok'; snapshot: SessionSnapshot }
  | { kind: 'not-found' }
  | { kind: 'version-conflict' }
  | { kind: 'attribute-conflict'; key: string }
  /** The statement's snapshot was older than the row it locked: nothing written, run it again. */
  | { kind: 'retry' }
  /** Committed, but the returned row could not be turned into a snapshot: read the session again. */
  | { kind: 'committed-unreadable'; cause: unknown };

/** What {@link SessionStore.create} writes. */
export interface CreateCommand {
  id: string;
  userId: string;
  groupId: string | null;
  expiresAt: number | null;
  defaultLifetime: number;
  includeInactivity: boolean;
  keys: string[];
  values: string[];
  expiries: Array<number | null>;
  /** This node's accesses not yet written, for the eviction order. */
  pendingIds: string[];
  pendingTimes: number[];
  maxSessions: number;
}

/** One update's outcome as the update statements report it (the new state's columns are null when nothing was written). */
interface UpdateRow {
  /** The session's version in the statement's snapshot when nothing was written (null: gone or expired). */
  snap_version: number | null;
  /** `created_at` (ms) of the session in the statement's snapshot, when nothing was written. */
  snap_created: number | null;
  conflict_key: string | null;
  version: number | null;
  updated_at: number | null;
  last_accessed: number | null;
  /** Set only when someone else changed the session since the caller read it. */
  changed: ChangedSession | null;
}

/** The columns and other attributes of a session someone else changed since the caller read it. */
type ChangedSession = Omit<SessionRow, 'version' | 'updated_at' | 'last_accessed'> & { others: AttributeTuple[] };

/** The row of the exact-update statement, when it applied. */
interface ExactUpdateRow {
  version: number | null;
  updated_at: number | null;
  last_accessed: number | null;
}

/** The one row of the batch statement (see `batch-update.statements.ts`). */
interface UpdateBatchRow {
  updated_at: number;
  /** Per applied update: its position, new version, and `last_accessed` ms (null: the access the update sent). */
  ok: [i: number[] | null, version: number[] | null, accessed: Array<number | null> | null];
  /** Second form only (`staleBatchUpdateStatements`): per update applied over someone else's newer state, its position and that state. */
  changed?: Array<[i: number, session: ChangedSession]> | null;
}

/** Concurrent update batches in flight per node; the rest of the pool stays free for reads. */
const UPDATE_BATCHES_IN_FLIGHT = 2;
/** Largest batch: its notification ids fit in the one payload the batch statement sends (64 ids: ~2.6 kB of 8000). */
const MAX_UPDATE_BATCH = 64;
/** An update a statement did not apply. */
const NOT_APPLIED_RESULT: UpdateResult = Object.freeze({ kind: 'retry' });
/** The batch's report of an update it did not apply. */
const NOT_APPLIED: BatchOutcome<UpdateResult> = Object.freeze({ ok: true, value: NOT_APPLIED_RESULT });
/** An update whose snapshot turned out stale is re-run; this bounds pathological contention. */
const MAX_STALE_RETRIES = 100;
/** PostgreSQL's "deadlock detected": the statement was rolled back whole and can run again. */
const DEADLOCK = '40P01';
/** PostgreSQL's "unique violation" (a framework store's id taken already). */
const UNIQUE_VIOLATION = '23505';

/**
 * Every database operation of the session store, each one statement or one
 * transaction. Returns immutable snapshots; knows nothing of the cache.
 */
export class SessionStore {
  private readonly sql: SessionStatements;
  private readonly singleUpdate: (shape: SingleUpdateShape) => Statement;
  private readonly exactUpdate: (shape: SingleUpdateShape) => Statement;
  private readonly batchUpdate: (shape: BatchUpdateShape) => Statement;
  private readonly staleBatchUpdate: (shape: BatchUpdateShape) => Statement;
  private readonly batcher: WriteBatcher<UpdateCommand, UpdateResult>;

  constructor(
    private readonly db: SessionDatabase,
    /** Sender id put in the notifications this store's statements send. */
    private readonly nodeId: string,
    /** `inactivityDuration`: writes refuse a session idle for longer. */
    private readonly inactivity: number,
  ) {
    this.sql = sessionStatements(db.tables);
    this.singleUpdate = singleUpdateStatements(db.tables);
    this.exactUpdate = exactUpdateStatements(db.tables);
    this.batchUpdate = batchUpdateStatements(db.tables);
    this.staleBatchUpdate = staleBatchUpdateStatements(db.tables);
    this.batcher = new WriteBatcher((commands) => this.updateBatch(commands), UPDATE_BATCHES_IN_FLIGHT, MAX_UPDATE_BATCH);
  }

  /** The NOTIFY channel of this deployment. */
  get channel(): string {
    return this.db.tables.channel;
  }

  /** Reads a session with its live attributes, or null. */
  async get(id: string): Promise<SessionSnapshot | null> {
    const rows = await this.db.query<SessionRow & { key: string | null; value: string; a_expires_at: number | null; a_version: number }>(this.sql.get, [id]);
    if (rows.length === 0) return null;
    const tuples: AttributeTuple[] = [];
    for (const row of rows) if (row.key !== null) tuples.push([row.key, row.value, row.a_expires_at, row.a_version]);
    return toSnapshot(rows[0]!, StoredAttributes.fromTuples(tuples));
  }

  /** Inserts a session and evicts the user's sessions beyond `maxSessions`, in one transaction. */
  async create(cmd: CreateCommand): Promise<{ snapshot: SessionSnapshot; evicted: string[] }> {
    return this.db.transaction(async (tx) => {
      await tx.query(this.sql.lockUser, [`${this.db.tables.deploymentKey}:user:${cmd.userId}`]);
      const [row] = await tx.query<SessionRow & { attrs: AttributeTuple[]; evicted: string[] }>(this.sql.create, [
        cmd.id, cmd.userId, cmd.groupId, cmd.expiresAt, cmd.defaultLifetime, cmd.includeInactivity,
        cmd.keys, cmd.values, cmd.expiries, cmd.pendingIds, cmd.pendingTimes, cmd.maxSessions - 1,
        this.channel, this.nodeId,
      ]);
      return { snapshot: toSnapshot(row!, attributesFromTuples(row!.attrs)), evicted: row!.evicted };
    });
  }

  /** Observer of every written update batch (set by the metrics at module init); see {@link WriteBatcher.onBatch}. */
  set onUpdateBatch(observer: WriteBatcher<UpdateCommand, UpdateResult>['onBatch']) {
    this.batcher.onBatch = observer;
  }

  /**
   * Runs one update, coalesced with concurrent updates of other sessions into one
   * statement (see `batch-update.statements.ts`), or alone in the exact-update statement.
   * Inside `tx` it runs alone, in that transaction, in the single-update statement. An
   * update its first statement did not apply is run again here (see `updateBatch`) until
   * its snapshot was current; in `tx` the caller runs it again on `'retry'`.
   */
  update(cmd: UpdateCommand, tx?: Transaction): Promise<UpdateResult> {
    if (tx) return this.runSingle(cmd, tx);
    return this.batcher.submit(cmd);
  }

  /**
   * Writes a batch from the batcher. One command runs as the exact-update statement;
   * several as one batch statement. When PostgreSQL refuses the batch statement (bad
   * input that got past validation), nothing was written: each command then runs on
   * its own, so only the guilty one fails. A connection failure fails them all, since
   * it hit them all (and after COMMIT was sent, may have committed them all).
   */
  private async updateBatch(commands: UpdateCommand[]): Promise<Array<BatchOutcome<UpdateResult>>> {
    const outcomes = await this.writeBatch(commands);
    // An update the batch did not apply is run again, outside the batch's slot, while the
    // batcher still holds the command's key: re-queued by its caller, it could be overtaken
    // by a later update of that session. Several go again together, in one statement that
    // also applies over a newer version (see `staleBatchUpdateStatements`), not as
    // one statement each at once; what that one does not apply runs on its own.
    const notApplied: number[] = [];
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok && outcome.value.kind === 'retry') notApplied.push(i);
    }
    if (notApplied.length === 0) return outcomes;
    const together = notApplied.length > 1 ? this.writeStaleBatch(notApplied.map((i) => commands[i]!)) : null;
    notApplied.forEach((i, k) => {
      const cmd = commands[i]!;
      const final = together === null ? this.untilNotStale(cmd) : together.then((results) => (results[k]!.kind === 'retry' ? this.untilNotStale(cmd) : results[k]!));
      outcomes[i] = { ok: true, value: NOT_APPLIED_RESULT, later: settle(final) };
    });
    return outcomes;
  }

  /**
   * Runs the updates a batch did not apply again, together, in the batch statement's
   * second form. Each result is `'retry'` where it did not apply (the caller then runs it
   * on its own); all are when PostgreSQL refuses the statement (bad input: on its own,
   * only the guilty one fails). A connection failure rejects: it hit them all.
   */
  private async writeStaleBatch(commands: UpdateCommand[]): Promise<UpdateResult[]> {
    const results = await this.runBatchStatement(commands, true);
    return results === null ? commands.map(() => NOT_APPLIED_RESULT) : Array.from(results, (result) => result ?? NOT_APPLIED_RESULT);
  }

  /**
   * Runs the single-update statement until its snapshot was current (bounded: pathological
   * contention). It also tells a failed check or a missing session from a stale snapshot.
   */
  private async untilNotStale(cmd: UpdateCommand): Promise<UpdateResult> {
    let result: UpdateResult = { kind: 'retry' };
    for (let attempt = 0; result.kind === 'retry' && attempt < MAX_STALE_RETRIES; attempt++) result = await this.runSingle(cmd);
    return result;
  }

  private async writeBatch(commands: UpdateCommand[]): Promise<Array<BatchOutcome<UpdateResult>>> {
    if (commands.length === 1) {
      try {
        return [await this.runExact(commands[0]!)];
      } catch (error) {
        return [{ ok: false, error }];
      }
    }
    const results = await this.runBatchStatement(commands, false);
    if (results === null) return Promise.all(commands.map((cmd) => settle(this.runSingle(cmd))));
    // Not applied (a failed check, gone, or a stale snapshot): run again (see `updateBatch`).
    return Array.from(results, (result) => (result === undefined ? NOT_APPLIED : { ok: true, value: result }));
  }

  /**
   * Runs several updates in one batch statement (its second form with `overNewer`, see
   * `batch-update.statements.ts`): each applied update's result, in the order of
   * `commands`, undefined where it did not apply; null when PostgreSQL refused the
   * statement (nothing was written).
   */
  private async runBatchStatement(commands: UpdateCommand[], overNewer: boolean): Promise<Array<UpdateResult | undefined> | null> {
    // Sorted by id, so concurrent batches (of several nodes) lock session rows in one order.
    const order = commands.map((_, i) => i).sort((a, b) => (commands[a]!.id < commands[b]!.id ? -1 : 1));
    const sorted = order.map((i) => commands[i]!);
    const shape = { checks: sorted.some((cmd) => cmd.checkedKeys.length > 0), deletes: sorted.some((cmd) => cmd.deleteKeys.length > 0) };
    const statement = overNewer ? this.staleBatchUpdate(shape) : this.batchUpdate(shape);
    const values = updateBatchParameters(sorted, this.channel, this.nodeId, this.inactivity, overNewer);
    let row: UpdateBatchRow;
    try {
      [row] = (await this.queryRetryingDeadlock<UpdateBatchRow>(statement, values)) as [UpdateBatchRow];
    } catch (err) {
      if (!isStatementError(err)) throw err;
      return null;
    }
    // Committed: each update is decoded on its own, so one odd entry cannot fail the others.
    const results = new Array<UpdateResult | undefined>(commands.length);
    const changed = row.changed ? new Map(row.changed) : undefined;
    const [applied, versions, accessed] = row.ok;
    for (let k = 0; k < (applied?.length ?? 0); k++) {
      const i = applied![k]!;
      const cmd = sorted[i - 1];
      if (cmd === undefined) continue;
      const version = versions?.[k];
      const lastAccessed = accessed?.[k] ?? cmd.lastAccess;
      results[order[i - 1]!] =
        typeof version !== 'number' || typeof lastAccessed !== 'number'
          ? // Applied (it is in `ok`), so committed: the caller must learn that, not "not found".
            { kind: 'committed-unreadable', cause: new Error(`update ${i} of the batch came back without its version or access time`) }
          : decodeApplied(cmd, version, row.updated_at, lastAccessed, changed?.get(i) ?? null);
    }
    return results;
  }

  /**
   * A lone update in the exact-update statement: applied only where the caller read the
   * latest state (see `exact-update.statements.ts`); otherwise not applied, and
   * `updateBatch` runs it again in the single-update statement.
   */
  private async runExact(cmd: UpdateCommand): Promise<BatchOutcome<UpdateResult>> {
    const statement = this.exactUpdate(shapeOf(cmd));
    const [row] = await this.queryRetryingDeadlock<ExactUpdateRow>(statement, exactUpdateParameters(cmd, this.channel, this.nodeId, this.inactivity));
    if (row === undefined) return NOT_APPLIED;
    return {
      ok: true,
      value: decodeApplied(cmd, row.version, row.updated_at, row.last_accessed, null),
    };
  }

  /** One update in the single-update statement (in `tx` when given). */
  private async runSingle(cmd: UpdateCommand, tx?: Transaction): Promise<UpdateResult> {
    const statement = this.singleUpdate(shapeOf(cmd));
    const values = singleUpdateParameters(cmd, this.channel, this.nodeId, this.inactivity);
    const rows = tx ? await tx.query<UpdateRow>(statement, values) : await this.queryRetryingDeadlock<UpdateRow>(statement, values);
    return decodeUpdate(rows[0]!, cmd);
  }

  /** Runs the statement again when a deadlock with a multi-row delete elsewhere rolled it back whole. */
  private async queryRetryingDeadlock<R extends QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.query<R>(statement, values);
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK || attempt >= 2) throw err;
      }
    }
  }

  /**
   * Applies `before` (e.g. pending changes) and moves the session to `newId`, in one
   * transaction that first locks the row. Returns null when the session is gone.
   */
  async regenerate(
    oldId: string,
    newId: string,
    payload: string,
    before: (tx: Transaction) => Promise<void>,
    /** The latest access this node knows of (epoch ms), or null: it counts for idle expiry. */
    lastAccess: number | null,
  ): Promise<SessionSnapshot | null> {
    return this.db.transaction(async (tx) => {
      const locked = await tx.query(this.sql.lockSession, [oldId, lastAccess, this.inactivity]);
      if (locked.length === 0) return null;
      await before(tx);
      const [row] = await tx.query<SessionRow & { attrs: AttributeTuple[] }>(this.sql.regenerate, [oldId, newId, this.channel, payload]);
      return row ? toSnapshot(row, attributesFromTuples(row.attrs)) : null;
    });
  }

  async deleteOne(id: string, payload: string): Promise<number> {
    const [row] = await this.db.query<{ deleted: number }>(this.sql.deleteOne, [id, this.channel, payload]);
    return row!.deleted;
  }

  async deleteByUser(userId: string, payload: string): Promise<number> {
    const [row] = await this.db.query<{ deleted: number }>(this.sql.deleteByUser, [userId, this.channel, payload]);
    return row!.deleted;
  }

  async deleteByGroup(groupId: string, payload: string): Promise<number> {
    const [row] = await this.db.query<{ deleted: number }>(this.sql.deleteByGroup, [groupId, this.channel, payload]);
    return row!.deleted;
  }

  async deleteAll(payload: string): Promise<number> {
    const [row] = await this.db.query<{ deleted: number }>(this.sql.deleteAll, [this.channel, payload]);
    return row!.deleted;
  }

  /** Removes one attribute from all of a user's sessions, bumping their versions. */
  async deleteUserAttribute(userId: string, key: string, payload: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.query(this.sql.lockUserSessions, [userId]);
      const [row] = await tx.query<{ updated: number }>(this.sql.deleteUserAttribute, [userId, key, this.channel, payload]);
      return row!.updated;
    });
  }

  /** The user's unexpired sessions (without attributes). */
  async listByUser(userId: string): Promise<SessionRow[]> {
    return this.db.query<SessionRow>(this.sql.listByUser, [userId]);
  }

  /** Writes access times (ids sorted by the caller) in one statement. */
  async flushLastAccess(ids: string[], times: number[]): Promise<void> {
    await this.db.query(this.sql.flushLastAccess, [ids, times]);
  }

  /**
   * One cleanup pass, unless another node's pass holds the deployment's cleanup lock.
   * @returns ids of the deleted sessions, or null when another pass was running.
   */
  async cleanup(inactivity: number): Promise<{ ids: string[] } | null> {
    return this.db.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>(this.sql.tryCleanupLock, [`nestjs-pg-session:cleanup:${this.db.tables.deploymentKey}`]);
      if (!lock?.locked) return null;
      const [row] = await tx.query<{ ids: string[] }>(this.sql.cleanup, [inactivity, this.channel, this.nodeId]);
      return { ids: row!.ids };
    });
  }

  /** Notifies a cache-only operation and counts it for nodes that were disconnected. */
  async notifyCacheOnly(payload: string): Promise<void> {
    await this.db.query(this.sql.notifyCacheOnly, [this.channel, payload]);
  }

  /** How many cache-only operations happened so far (compared across a LISTEN gap). */
  async cacheEpoch(): Promise<string> {
    const [row] = await this.db.query<{ epoch: string }>(this.sql.cacheEpoch);
    return row!.epoch;
  }

  /** Current versions of the given sessions that still exist. */
  async versions(ids: string[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ id: string; version: number }>(this.sql.versions, [ids]);
    return new Map(rows.map((r) => [r.id, r.version]));
  }

  // ---- Framework stores (express-session, @fastify/session); see framework-session.statements.ts ----

  private frameworkSql: FrameworkSessionStatements | undefined;
  private get framework(): FrameworkSessionStatements {
    return (this.frameworkSql ??= frameworkSessionStatements(this.db.tables));
  }

  /**
   * Like {@link create} under an id the caller chose; `userId` '' means a session of no
   * user (no eviction). Returns null when a session with that id exists already.
   */
  async createIfAbsent(cmd: CreateCommand): Promise<{ snapshot: SessionSnapshot; evicted: string[] } | null> {
    if (cmd.userId === '') {
      const rows = await this.db.query<SessionRow & { attrs: AttributeTuple[] }>(this.framework.createAnonymous, [
        cmd.id, cmd.groupId, cmd.expiresAt, cmd.defaultLifetime, cmd.includeInactivity, cmd.keys, cmd.values, cmd.expiries,
      ]);
      const row = rows[0];
      return row ? { snapshot: toSnapshot(row, attributesFromTuples(row.attrs)), evicted: [] } : null;
    }
    try {
      return await this.create(cmd);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw err;
    }
  }

  /**
   * Gives a session to `userId` in one transaction holding the user's lock: first `cmd`
   * (the pending attribute changes, if any), then the owner change, the eviction of the
   * user's sessions beyond `maxSessions` and the notification. Returns the evicted ids,
   * or null when the session is gone.
   */
  async assignUser(
    id: string,
    userId: string,
    cmd: UpdateCommand | null,
    maxSessions: number,
    pendingIds: string[],
    pendingTimes: number[],
  ): Promise<{ evicted: string[] } | null> {
    return this.db.transaction(async (tx) => {
      await tx.query(this.sql.lockUser, [`${this.db.tables.deploymentKey}:user:${userId}`]);
      if (cmd !== null) {
        for (let attempt = 0; ; attempt++) {
          const result = await this.update(cmd, tx);
          if (result.kind === 'ok' || result.kind === 'committed-unreadable') break;
          if (result.kind === 'not-found') return null;
          if (result.kind !== 'retry' || attempt >= 100) throw new Error(`Could not write session ${id} before giving it to its user (${result.kind}).`);
        }
      }
      const [row] = await tx.query<{ id: string; evicted: string[] }>(this.framework.assignUser, [
        id, userId, maxSessions - 1, pendingIds, pendingTimes, this.channel, this.nodeId,
      ]);
      return row ? { evicted: row.evicted } : null;
    });
  }

  /** Live sessions of a group (`inactivity` ms is the idle limit of those that count it). */
  async countGroup(groupId: string, inactivity: number): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(this.framework.countGroup, [groupId, inactivity]);
    return row!.n;
  }

  /** Live attributes of a group's live sessions, grouped by session id (ids in order). */
  async groupAttributes(groupId: string, inactivity: number): Promise<Map<string, { expiresAt: number; attributes: Array<[string, string]> }>> {
    const rows = await this.db.query<{ id: string; key: string | null; value: string | null; expires_at: number }>(this.framework.groupAttributes, [groupId, inactivity]);
    const sessions = new Map<string, { expiresAt: number; attributes: Array<[string, string]> }>();
    for (const row of rows) {
      let entry = sessions.get(row.id);
      if (entry === undefined) sessions.set(row.id, (entry = { expiresAt: row.expires_at, attributes: [] }));
      // A session without attributes comes as one row with a null key (LEFT JOIN): counted, and empty.
      if (row.key !== null && row.value !== null) entry.attributes.push([row.key, row.value]);
    }
    return sessions;
  }

}

/** The parameters of the single-update statement. */
function singleUpdateParameters(cmd: UpdateCommand, channel: string, nodeId: string, inactivity: number): unknown[] {
  return [
    cmd.id, cmd.checkVersion, cmd.expectedVersion, textArray(cmd.checkedKeys), numberArray(cmd.checkedVersions),
    textArray(cmd.setKeys), textArray(cmd.setValues), numberArray(cmd.setExpiries), textArray(cmd.deleteKeys), cmd.groupChanged, cmd.groupId,
    cmd.expiresAt, cmd.includeInactivity, channel, nodeId, cmd.notifyOnSuccess, cmd.notifyOnFailure,
    cmd.lastAccess, inactivity, cmd.base.createdAt,
  ];
}

/** The parameters of the exact-update statement. */
function exactUpdateParameters(cmd: UpdateCommand, channel: string, nodeId: string, inactivity: number): unknown[] {
  return [
    cmd.id, cmd.expectedVersion, cmd.base.createdAt, textArray(cmd.setKeys), textArray(cmd.setValues), numberArray(cmd.setExpiries),
    textArray(cmd.deleteKeys), cmd.groupChanged, cmd.groupId, cmd.expiresAt, cmd.includeInactivity, channel, nodeId, cmd.notifyOnSuccess,
    cmd.lastAccess, inactivity, textArray(cmd.checkedKeys), numberArray(cmd.checkedVersions),
  ];
}

/** A promise's outcome as a value (for the batcher's per-command results). */
function settle<R>(promise: Promise<R>): Promise<BatchOutcome<R>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/**
 * Reads one update's outcome from its row. The write is committed when a row says
 * so; if its row cannot be decoded, the caller learns it committed and re-reads.
 */
function decodeUpdate(row: UpdateRow, cmd: UpdateCommand): UpdateResult {
  try {
    return updateResult(row, cmd);
  } catch (cause) {
    return { kind: 'committed-unreadable', cause };
  }
}

/**
 * Reads the outcome of an update a first-try or batch statement applied (those report no
 * snapshot of their own): its new version, `updated_at` and `last_accessed`, and `changed`,
 * the other writer's state it was applied over (second batch form only), or null.
 */
function decodeApplied(cmd: UpdateCommand, version: number | null, updatedAt: number | null, lastAccessed: number | null, changed: ChangedSession | null): UpdateResult {
  return decodeUpdate({ snap_version: null, snap_created: null, conflict_key: null, version, updated_at: updatedAt, last_accessed: lastAccessed, changed }, cmd);
}

/** The statement shape one update needs: whether it checks attribute versions, whether it deletes attributes. */
function shapeOf(cmd: UpdateCommand): SingleUpdateShape {
  return { checks: cmd.checkedKeys.length > 0, deletes: cmd.deleteKeys.length > 0 };
}

/** The written attributes as stored: values and expiries from the command, each at the session's new version. */
function writtenTuples(cmd: UpdateCommand, version: number): AttributeTuple[] {
  return cmd.setKeys.map((key, k) => [key, cmd.setValues[k]!, cmd.setExpiries[k]!, version]);
}

/** Flattens a batch of updates into the array parameters of the batch statement (`batch-update.statements.ts`), of its second form with `overNewer`. */
function updateBatchParameters(commands: UpdateCommand[], channel: string, nodeId: string, inactivity: number, overNewer = false): unknown[] {
  // Presized: one element per update (arrays grown by push allocate several times over).
  const n = commands.length;
  const ids = new Array<string>(n);
  const expected = new Array<number>(n);
  const groupChanged = new Array<boolean>(n);
  const groupIds = new Array<string | null>(n);
  const expires = new Array<number | null>(n);
  const incl = new Array<boolean | null>(n);
  const notifyOk = new Array<boolean>(n);
  const access = new Array<number | null>(n);
  const created = new Array<number>(n);
  const setIdx: number[] = [], setKeys: string[] = [], setValues: string[] = [], setExp: Array<number | null> = [];
  const chkIdx: number[] = [], chkKeys: string[] = [], chkVers: number[] = [];
  const delIdx: number[] = [], delKeys: string[] = [];
  for (let u = 0; u < n; u++) {
    const cmd = commands[u]!;
    const i = u + 1;
    ids[u] = cmd.id;
    expected[u] = cmd.expectedVersion;
    groupChanged[u] = cmd.groupChanged;
    groupIds[u] = cmd.groupId;
    expires[u] = cmd.expiresAt;
    incl[u] = cmd.includeInactivity;
    notifyOk[u] = cmd.notifyOnSuccess;
    access[u] = cmd.lastAccess;
    created[u] = cmd.base.createdAt;
    for (let k = 0; k < cmd.setKeys.length; k++) {
      setIdx.push(i);
      setKeys.push(cmd.setKeys[k]!);
      setValues.push(cmd.setValues[k]!);
      setExp.push(cmd.setExpiries[k]!);
    }
    for (let k = 0; k < cmd.checkedKeys.length; k++) {
      chkIdx.push(i);
      chkKeys.push(cmd.checkedKeys[k]!);
      chkVers.push(cmd.checkedVersions[k]!);
    }
    for (const key of cmd.deleteKeys) {
      delIdx.push(i);
      delKeys.push(key);
    }
  }
  // As literals: `pg`'s own array encoding made most of an update's garbage (see array-literal.ts).
  return [
    uuidArray(ids), overNewer ? booleanArray(commands.map((cmd) => cmd.checkVersion)) : '{}', numberArray(expected), booleanArray(groupChanged), textArray(groupIds), numberArray(expires),
    booleanArray(incl), booleanArray(notifyOk), '{}',
    numberArray(setIdx), textArray(setKeys), textArray(setValues), numberArray(setExp), numberArray(chkIdx), textArray(chkKeys), numberArray(chkVers),
    numberArray(delIdx), textArray(delKeys), channel, nodeId, numberArray(access), inactivity, numberArray(created), overNewer ? booleanArray(commands.map((cmd) => cmd.checkedKeys.length > 0)) : '{}',
  ];
}

/** Reads one update's outcome from its row of the batch. */
function updateResult(row: UpdateRow, cmd: UpdateCommand): UpdateResult {
  if (row.version !== null && row.updated_at !== null && row.last_accessed !== null) {
    const base = cmd.base;
    const theirs = row.changed;
    // Nobody changed the session since the caller read it: what it read with this
    // update applied. Otherwise the database's columns and other attributes.
    const snapshot: SessionSnapshot = Object.freeze(
      theirs === null
        ? {
            id: base.id,
            userId: base.userId,
            groupId: cmd.groupChanged ? cmd.groupId : base.groupId,
            version: row.version,
            createdAt: base.createdAt,
            updatedAt: row.updated_at,
            lastAccessed: row.last_accessed,
            expiresAt: cmd.expiresAt ?? base.expiresAt,
            includeInactivity: cmd.includeInactivity ?? base.includeInactivity,
            attributes: base.attributes.with(cmd.deleteKeys, cmd.setKeys, cmd.setValues, cmd.setExpiries, row.version),
          }
        : {
            id: theirs.id,
            userId: theirs.user_id,
            groupId: theirs.group_id,
            version: row.version,
            createdAt: theirs.created_at,
            updatedAt: row.updated_at,
            lastAccessed: row.last_accessed,
            expiresAt: theirs.expires_at,
            includeInactivity: theirs.include_inactivity,
            attributes: StoredAttributes.fromTuples([...theirs.others, ...writtenTuples(cmd, row.version)]),
          },
    );
    return { kind: 'ok', snapshot };
  }
  if (row.snap_version === null) return { kind: 'not-found' };
  // Created again under its id since the caller read it: another session, whose versions
  // restarted (any equality with the caller's versions is a coincidence).
  const recreated = row.snap_created !== cmd.base.createdAt;
  if (cmd.checkVersion && (recreated || row.snap_version !== cmd.expectedVersion)) return { kind: 'version-conflict' };
  if (row.conflict_key !== null) return { kind: 'attribute-conflict', key: row.conflict_key };
  if (recreated && cmd.checkedKeys.length > 0) return { kind: 'attribute-conflict', key: cmd.checkedKeys[0]! };
  return { kind: 'retry' };
}
