import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { filter, firstValueFrom, timeout } from 'rxjs';
import {
  SessionModule,
  SessionNotifications,
  SessionService,
  type SessionChange,
  type SessionModuleOptions,
  type SyncStatus,
} from '../../lib/index.js';
import { after, before } from 'node:test';
import { createTestDatabase, databaseOnceCreated, useTestDatabase, type TestDatabase } from './database.js';
import { assertNoOpenHandles } from './handles.js';
import { SessionStore } from '../../lib/store/session.store.js';
import { SESSION_DATABASE } from '../../lib/options/internal.tokens.js';
import type { SessionDatabase, Statement } from '../../lib/store/session.database.js';

/** A logger that keeps what it was told, for assertions, and prints nothing. */
export class RecordingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown): void { this.lines.push({ level: 'log', message: String(message) }); }
  error(message: unknown): void { this.lines.push({ level: 'error', message: String(message) }); }
  warn(message: unknown): void { this.lines.push({ level: 'warn', message: String(message) }); }
  debug(message: unknown): void { this.lines.push({ level: 'debug', message: String(message) }); }
  verbose(message: unknown): void { this.lines.push({ level: 'verbose', message: String(message) }); }
}

/** One app node: a Nest application context with the session module. */
export interface TestNode {
  readonly app: TestingModule;
  readonly sessions: SessionService;
  readonly logger: RecordingLogger;
  close(): Promise<void>;
}

/** Starts a node on `url` (schema created if missing) with the given options. */
export async function startNode(url: string, options: Partial<SessionModuleOptions> = {}): Promise<TestNode> {
  const logger = new RecordingLogger();
  const app = await Test.createTestingModule({
    imports: [SessionModule.forRoot({ connectionString: url, createSchemaIfMissing: true, logger, ...options })],
  }).compile();
  await app.init();
  let closed = false;
  return {
    app,
    sessions: app.get(SessionService),
    logger,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** Resolves with the first change heard by `node` that matches, or rejects after `timeoutMs`. */
export function nextChange(
  node: TestNode,
  matches: (change: SessionChange) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<SessionChange> {
  return firstValueFrom(node.app.get(SessionNotifications).changes$.pipe(filter(matches), timeout(timeoutMs)));
}

/** Resolves when `node`'s LISTEN status becomes `status`, or rejects after `timeoutMs`. */
export function nextStatus(node: TestNode, status: SyncStatus, timeoutMs = 20_000): Promise<SyncStatus> {
  return firstValueFrom(node.app.get(SessionNotifications).status$.pipe(filter((s) => s === status), timeout(timeoutMs)));
}

/**
 * A database of the suite's own (see `useTestDatabase`) whose session tables exist before
 * the first test: a node started and closed once creates them.
 */
export function useTestDatabaseWithSchema(): TestDatabase {
  const db = useTestDatabase();
  before(async () => {
    const setup = await startNode(db.url);
    await setup.close();
  });
  return db;
}

/**
 * Records the size of every update batch `node` writes (from now on) into `sizes` (a new
 * array by default), which it returns, keeping the node's own observer (its metrics)
 * called as before.
 */
export function recordUpdateBatches(node: TestNode, sizes: number[] = []): number[] {
  const batcher = (node.app.get(SessionStore) as unknown as { batcher: { onBatch?: (size: number, ...rest: unknown[]) => void } }).batcher;
  const observer = batcher.onBatch;
  batcher.onBatch = (size, ...rest) => {
    sizes.push(size);
    observer?.(size, ...rest);
  };
  return sizes;
}

/**
 * The update statement a query runs, by its name without the deployment prefix
 * (`update`, `update_exact`, `update_batch`, `update_restale`, each with `_chk`/`_del`
 * for its shape), or null for any other query.
 */
export function updateStatementName(statement: Statement | string): string | null {
  const name = typeof statement === 'string' ? undefined : statement.name;
  const update = name === undefined ? null : /_(update(?:_exact|_batch|_restale)?(?:_chk)?(?:_del)?)$/.exec(name);
  return update ? update[1]! : null;
}

/** The update statements a node ran through its pool (see {@link recordUpdateStatements}). */
export interface UpdateStatements {
  /** Their names, in the order they started (reset by assigning `[]`). */
  ran: string[];
  /** The most that ran at once (reset by assigning 0). */
  peak: number;
}

/**
 * Records every update statement `node` runs through its pool from now on (not those
 * inside a transaction) into `log` (a new one by default), which it returns: which
 * statement ran tells what results cannot, since every update a first-try statement does
 * not apply runs again in another one.
 */
export function recordUpdateStatements(node: TestNode, log: UpdateStatements = { ran: [], peak: 0 }): UpdateStatements {
  let inFlight = 0;
  const database = node.app.get<SessionDatabase>(SESSION_DATABASE);
  const query = database.query.bind(database);
  (database as unknown as { query: SessionDatabase['query'] }).query = ((statement: Statement | string, values?: unknown[]) => {
    const name = updateStatementName(statement);
    if (name === null) return query(statement, values);
    log.ran.push(name);
    log.peak = Math.max(log.peak, ++inFlight);
    return query(statement, values).finally(() => inFlight--);
  }) as SessionDatabase['query'];
  return log;
}

/** What {@link useRecordedNode} gives a suite. */
export interface RecordedNode {
  readonly db: TestDatabase;
  readonly node: TestNode;
  /** Sizes of the update batches the node wrote (see {@link recordUpdateBatches}). */
  readonly batches: number[];
  /** The update statements the node ran (see {@link recordUpdateStatements}). */
  readonly statements: UpdateStatements;
}

/**
 * Gives the enclosing suite a database of its own and one node on it (with `options`)
 * whose update batches and update statements are recorded from its start. Both are
 * created before the suite's tests; after them the node is closed, nothing may be left
 * open, and the database is dropped. The handles are usable inside tests and hooks.
 */
export function useRecordedNode(options: Partial<SessionModuleOptions> = {}): RecordedNode {
  let db: TestDatabase | undefined;
  let started: TestNode | undefined;
  const batches: number[] = [];
  const statements: UpdateStatements = { ran: [], peak: 0 };
  before(async () => {
    db = await createTestDatabase();
    started = await startNode(db.url, options);
    recordUpdateBatches(started, batches);
    recordUpdateStatements(started, statements);
  });
  after(async () => {
    await started?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });
  const current = (): TestNode => {
    if (!started) throw new Error('The node starts in a before hook; use it inside tests and hooks.');
    return started;
  };
  const node: TestNode = {
    get app() { return current().app; },
    get sessions() { return current().sessions; },
    get logger() { return current().logger; },
    close: () => current().close(),
  };
  return { db: databaseOnceCreated(() => db), node, batches, statements };
}
