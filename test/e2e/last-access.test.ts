import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import { SessionModule, SessionService } from '../../lib/index.js';
import { RecordingLogger, startNode, useTestDatabaseWithSchema } from '../support/nodes.js';
import { recordStatements } from '../support/statement-counter.js';

/** A real DataSource whose pool counts the statements it is asked to run. */
async function countingDataSource(url: string): Promise<{ dataSource: DataSource; statements: () => string[] }> {
  const dataSource = await new DataSource({ type: 'postgres', url }).initialize();
  const statements = recordStatements((dataSource.driver as unknown as { master: pg.Pool }).master);
  return { dataSource, statements };
}

describe('last access', () => {
  const db = useTestDatabaseWithSchema();

  it('1,000 cache-hit reads issue no SQL; a flush writes them in batches of lastAccessUpdateBatchSize', async () => {
    const { dataSource, statements } = await countingDataSource(db.url);
    const app = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ dataSource, lastAccessUpdateBatchSize: 100, logger: new RecordingLogger() })],
    }).compile();
    await app.init();
    try {
      const sessions = app.get(SessionService);
      const ids: string[] = [];
      for (let i = 0; i < 250; i++) ids.push((await sessions.createSession(`la-${i}`)).id);
      const before = statements().length;
      for (let i = 0; i < 1000; i++) {
        const s = await sessions.getSession(ids[i % ids.length]!);
        assert.equal(s.fromCache, true);
      }
      // invalid ids never reach the database either
      await assert.rejects(sessions.getSession('not-a-uuid'));
      assert.deepEqual(statements().slice(before), [], 'cache hits and invalid ids issued SQL');
      await sessions.flushLastAccess();
      const flushes = statements().slice(before);
      assert.equal(flushes.length, 3, '250 sessions at 100 per batch');
      assert.ok(flushes.every((sql) => /last_accessed = greatest/.test(sql)));
      const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM sessions WHERE last_accessed > created_at`);
      assert.equal(count, '250');
      await sessions.flushLastAccess();
      assert.equal(statements().length - before, 3, 'nothing pending: no statement');
    } finally {
      await app.close();
    }
    assert.equal(dataSource.isInitialized, true, 'the module never destroys a DataSource it was given');
    await dataSource.destroy();
  });

  it('getSession never writes: reads with updateLastAccess: false record nothing', async () => {
    const node = await startNode(db.url);
    try {
      const s = await node.sessions.createSession('la-quiet');
      await node.sessions.getSession(s.id, { updateLastAccess: false });
      await node.sessions.getSession(s.id, { updateLastAccess: false, forceRefresh: true });
      await node.sessions.flushLastAccess();
      const [row] = await db.query<{ same: boolean }>(`SELECT last_accessed = created_at AS same FROM sessions WHERE id = $1`, [s.id]);
      assert.equal(row!.same, true);
    } finally {
      await node.close();
    }
  });

  it('lastAccessed never moves backwards when nodes flush out of order', async () => {
    const a = await startNode(db.url);
    const b = await startNode(db.url);
    try {
      const s = await a.sessions.createSession('la-order');
      const early = await b.sessions.getSession(s.id);
      let late = await a.sessions.getSession(s.id);
      while (late.lastAccessed.getTime() <= early.lastAccessed.getTime()) late = await a.sessions.getSession(s.id);
      await a.sessions.flushLastAccess();
      await b.sessions.flushLastAccess();
      const [row] = await db.query<{ ms: number }>(`SELECT floor(extract(epoch FROM last_accessed) * 1000)::float8 AS ms FROM sessions WHERE id = $1`, [s.id]);
      assert.equal(row!.ms, late.lastAccessed.getTime());
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('app.close() writes the pending accesses', async () => {
    const node = await startNode(db.url);
    const s = await node.sessions.createSession('la-close');
    let read = await node.sessions.getSession(s.id);
    while (read.lastAccessed.getTime() === s.lastAccessed.getTime()) read = await node.sessions.getSession(s.id);
    await node.close();
    const [row] = await db.query<{ ms: number }>(`SELECT floor(extract(epoch FROM last_accessed) * 1000)::float8 AS ms FROM sessions WHERE id = $1`, [s.id]);
    assert.equal(row!.ms, read.lastAccessed.getTime());
  });

  it('the batch timer writes accesses on its own', async () => {
    const node = await startNode(db.url, { lastAccessUpdateInterval: 50, inactivityDuration: 60_000 });
    try {
      const s = await node.sessions.createSession('la-timer');
      let read = await node.sessions.getSession(s.id);
      while (read.lastAccessed.getTime() === s.lastAccessed.getTime()) read = await node.sessions.getSession(s.id);
      const { waitFor } = await import('../support/wait.js');
      await waitFor(async () => {
        const [row] = await db.query<{ ms: number }>(`SELECT floor(extract(epoch FROM last_accessed) * 1000)::float8 AS ms FROM sessions WHERE id = $1`, [s.id]);
        return row!.ms === read.lastAccessed.getTime();
      }, 'the timer to flush the access');
    } finally {
      await node.close();
    }
  });
});
