import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import { SessionModule, SessionService } from '../../lib/index.js';
import { LastAccessWriter } from '../../lib/workers/last-access.writer.js';
import { recordStatements } from '../../test/support/statement-counter.js';
import { keyIndex, type BenchContext, type LastAccessResult } from './common.js';

@Module({})
class LastAccessBenchModule {}

/** A real DataSource whose pool counts the statements it is asked to run (as in test/e2e/last-access.test.ts). */
async function countingDataSource(url: string): Promise<{ dataSource: DataSource; count: () => number }> {
  const dataSource = await new DataSource({ type: 'postgres', url, poolSize: 10 }).initialize();
  const statements = recordStatements((dataSource.driver as unknown as { master: pg.Pool }).master);
  return { dataSource, count: () => statements().length };
}

/**
 * SQL statements issued for last-access tracking: per N cache-hit reads (must be 0)
 * and per flush (must be one per lastAccessUpdateBatchSize sessions).
 */
export async function lastAccess(ctx: BenchContext): Promise<LastAccessResult> {
  const { data, config } = ctx;
  const { dataSource, count } = await countingDataSource(ctx.db.url);
  const app = await NestFactory.createApplicationContext(
    {
      module: LastAccessBenchModule,
      imports: [SessionModule.forRoot({ dataSource, cacheSize: data.size * 2, lastAccessUpdateBatchSize: config.lastAccessBatchSize })],
    },
    { logger: false },
  );
  await app.init();
  try {
    const sessions = app.get(SessionService);
    const writer = app.get(LastAccessWriter);
    // Fill the cache (these are misses), then write what they recorded.
    for (let i = 0; i < data.size; i++) await sessions.getSession(data.ids[i]!);
    await sessions.flushLastAccess();
    const hitsBefore = sessions.stats().cacheHits;
    const before = count();
    const touched = new Set<number>();
    for (let n = 0; n < config.lastAccessReads; n++) {
      const i = keyIndex(data, n);
      touched.add(i);
      await sessions.getSession(data.ids[i]!);
    }
    const statementsDuringReads = count() - before;
    const cacheHits = sessions.stats().cacheHits - hitsBefore;
    const writerBefore = writer.statements;
    const beforeFlush = count();
    await sessions.flushLastAccess();
    const result: LastAccessResult = {
      reads: config.lastAccessReads,
      distinctSessions: touched.size,
      batchSize: config.lastAccessBatchSize,
      cacheHits,
      statementsDuringReads,
      statementsAtFlush: count() - beforeFlush,
      writerStatementsAtFlush: writer.statements - writerBefore,
      expectedAtFlush: Math.ceil(touched.size / config.lastAccessBatchSize),
    };
    ctx.progress(
      `last access | ${result.reads} reads (${result.cacheHits} cache hits): ${result.statementsDuringReads} statements; ` +
        `flush of ${result.distinctSessions} sessions at batch size ${result.batchSize}: ${result.statementsAtFlush} statements`,
    );
    return result;
  } finally {
    await app.close();
    await dataSource.destroy();
  }
}
