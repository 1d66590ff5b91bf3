import 'reflect-metadata';
import { Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SessionModule, SessionNotifications, SessionService, type SessionModuleOptions } from '../../lib/index.js';
import { LastAccessWriter } from '../../lib/workers/last-access.writer.js';

/** Prints warnings and errors (a benchmark must not hide trouble), drops the rest. */
class QuietLogger implements LoggerService {
  constructor(private readonly name: string) {}
  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void { process.stderr.write(`[${this.name}] warn: ${String(message)}\n`); }
  error(message: unknown): void { process.stderr.write(`[${this.name}] error: ${String(message)}\n`); }
}

@Module({})
class BenchNodeModule {}

/** One app node of this library: a Nest application context with the session module. */
export interface BenchNode {
  readonly app: INestApplicationContext;
  readonly sessions: SessionService;
  readonly notifications: SessionNotifications;
  readonly lastAccess: LastAccessWriter;
  close(): Promise<void>;
}

/** Starts a node (as an app would: NestFactory, shutdown via close()). */
export async function startBenchNode(name: string, options: SessionModuleOptions): Promise<BenchNode> {
  const app = await NestFactory.createApplicationContext(
    { module: BenchNodeModule, imports: [SessionModule.forRoot({ logger: new QuietLogger(name), ...options })] },
    { logger: false, abortOnError: false },
  );
  await app.init();
  let closed = false;
  return {
    app,
    sessions: app.get(SessionService),
    notifications: app.get(SessionNotifications),
    lastAccess: app.get(LastAccessWriter),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
