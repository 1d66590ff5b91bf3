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
import { before } from 'node:test';
import { useTestDatabase, type TestDatabase } from './database.js';
import { SessionStore } from '../../lib/store/session.store.js';

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
 * Records the size of every update batch `node` writes (from now on) into the returned
 * array, keeping the node's own observer (its metrics) called as before.
 */
export function recordUpdateBatches(node: TestNode): number[] {
  const sizes: number[] = [];
  const batcher = (node.app.get(SessionStore) as unknown as { batcher: { onBatch?: (size: number, ...rest: unknown[]) => void } }).batcher;
  const observer = batcher.onBatch;
  batcher.onBatch = (size, ...rest) => {
    sizes.push(size);
    observer?.(size, ...rest);
  };
  return sizes;
}
