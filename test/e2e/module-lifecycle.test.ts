import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import pg from 'pg';
import {
  SessionModule,
  SessionNotFoundError,
  SessionService,
  type Session,
  type SessionModuleOptions,
  type SessionModuleOptionsFactory,
} from '../../lib/index.js';
import { SESSION_DATABASE } from '../../lib/options/internal.tokens.js';
import { RecordingLogger, startNode, useTestDatabaseWithSchema } from '../support/nodes.js';
import { waitFor, waitUntilPast } from '../support/wait.js';
import { observeStatements } from '../support/statement-counter.js';

/**
 * How SessionModule's providers start and stop in a real application context (review of
 * the providers refactor, issue 17): the expiry cleanup worker is a provider of its own,
 * and the last-access writer is wired to the cache in its factory. Whatever the way the
 * module is registered, close() must let a running cleanup pass end, then write the
 * pending accesses, then close the pool, and leave nothing running.
 */
describe('SessionModule lifecycle (providers wired in session.providers.ts)', () => {
  const db = useTestDatabaseWithSchema();

  /** Reads `s` from the cache until its last access moves past its creation (the clock is coarse). */
  async function readUntilAccessMoves(sessions: SessionService, s: Session): Promise<Session> {
    let read = await sessions.getSession(s.id);
    while (read.lastAccessed.getTime() === s.lastAccessed.getTime()) read = await sessions.getSession(s.id);
    return read;
  }

  async function storedLastAccess(table: string, id: string): Promise<number | undefined> {
    const [row] = await db.query<{ ms: number }>(`SELECT floor(extract(epoch FROM last_accessed) * 1000)::float8 AS ms FROM ${table} WHERE id = $1`, [id]);
    return row?.ms;
  }

  it('close() with a cleanup pass in flight: the pass ends, then the pending accesses are written, then the pool closes', async () => {
    const node = await startNode(db.url, { cleanupInterval: 100, lastAccessUpdateInterval: 3_600_000 });
    const pool = (node.app.get(SESSION_DATABASE) as unknown as { pool: pg.Pool }).pool;
    // Issue and completion of the cleanup and last-access statements, in order.
    const events: string[] = [];
    observeStatements(pool, (text, result) => {
      const kind = /include_inactivity/.test(text) ? 'cleanup' : /last_accessed = greatest/.test(text) ? 'flush' : undefined;
      if (kind === undefined) return;
      events.push(`issue ${kind}`);
      result.then(() => events.push(`done ${kind}`), () => events.push(`failed ${kind}`));
    });

    const expiring = await node.sessions.createSession('lc-expiring', {}, { expiresAt: new Date(Date.now() + 1500) });
    const reader = await node.sessions.createSession('lc-reader');
    // A real transaction holds the expiring row: the next cleanup pass waits for it.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT id FROM sessions WHERE id = $1 FOR UPDATE`, [expiring.id]);
      await waitUntilPast(expiring.expiresAt);
      await waitFor(async () => {
        const rows = await db.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%include_inactivity%'`,
        );
        return rows.length > 0;
      }, 'a cleanup pass waiting for the row lock');
      // An access recorded while the pass waits: only the final flush can write it.
      const read = await readUntilAccessMoves(node.sessions, reader);
      const closing = node.close();
      await blocker.query('COMMIT');
      await closing;

      const lastDone = events.lastIndexOf('done cleanup');
      const lastFlush = events.lastIndexOf('issue flush');
      assert.ok(lastDone >= 0, `the cleanup pass completed: ${events.slice(-8).join(', ')}`);
      assert.ok(lastFlush > lastDone, `the final flush was issued after the cleanup pass ended (last events: ${events.slice(-8).join(', ')})`);
      assert.ok(!events.some((e) => e.startsWith('failed')), `no statement failed: ${events.join(', ')}`);
      assert.equal(await storedLastAccess('sessions', reader.id), read.lastAccessed.getTime(), 'the pending access was written');
      assert.equal(await storedLastAccess('sessions', expiring.id), undefined, 'the pass in flight deleted the expired session');
      assert.equal(pool.ended, true, 'the module closed the pool it opened');
      assert.deepEqual(node.logger.lines.filter((l) => l.level === 'error'), []);
    } finally {
      await blocker.end();
      await node.close();
    }
  });

  @Injectable()
  class SessionConfig implements SessionModuleOptionsFactory {
    static url = '';
    createSessionOptions(): SessionModuleOptions {
      return { connectionString: SessionConfig.url, logger: new RecordingLogger(), lastAccessUpdateInterval: 3_600_000 };
    }
  }

  @Module({ providers: [SessionConfig], exports: [SessionConfig] })
  class ConfigModule {}

  const registrations: Array<[string, () => DynamicModule]> = [
    ['forRoot', () => SessionModule.forRoot(new SessionConfig().createSessionOptions())],
    ['forRootAsync useFactory', () => SessionModule.forRootAsync({ imports: [ConfigModule], inject: [SessionConfig], useFactory: (c: SessionConfig) => c.createSessionOptions() })],
    ['forRootAsync useClass', () => SessionModule.forRootAsync({ useClass: SessionConfig })],
    ['forRootAsync useExisting', () => SessionModule.forRootAsync({ imports: [ConfigModule], useExisting: SessionConfig })],
  ];
  for (const [name, register] of registrations) {
    it(`${name}: starts, serves, and writes the pending accesses on close()`, async () => {
      SessionConfig.url = db.url;
      const app = await Test.createTestingModule({ imports: [register()] }).compile();
      await app.init();
      let read: Session;
      let id: string;
      try {
        const sessions = app.get(SessionService);
        const s = await sessions.createSession(`lc-${name}`);
        id = s.id;
        read = await readUntilAccessMoves(sessions, s);
      } finally {
        await app.close();
      }
      assert.equal(await storedLastAccess('sessions', id), read.lastAccessed.getTime());
    });
  }

  // The cleanup worker is a provider injecting SessionService: a consumer's TestingModule
  // that overrides SessionService with a stand-in lacking cleanupExpiredSessions got a
  // TypeError thrown from the library's timer every cleanupInterval (uncaught: it ends a
  // process without a handler). The worker now exists only for the real service, as when
  // it lived inside SessionService. (Found in review: failed after the providers move.)
  it('overriding SessionService in a TestingModule leaves no library timer calling into the stand-in', async () => {
    // In a child process: the stand-in's TypeError is thrown from a timer, uncaught.
    const lib = new URL('../../lib/index.js', import.meta.url).href;
    const code = `
      import 'reflect-metadata';
      import { Test } from '@nestjs/testing';
      import { SessionModule, SessionService } from ${JSON.stringify(lib)};
      const uncaught = [];
      process.on('uncaughtException', (err) => uncaught.push(String(err)));
      const errors = [];
      const logger = { log() {}, warn() {}, debug() {}, verbose() {}, error(m) { errors.push(String(m)); } };
      const app = await Test.createTestingModule({
        imports: [SessionModule.forRoot({ connectionString: process.env.URL, cleanupInterval: 50, logger })],
      }).overrideProvider(SessionService).useValue({ getSession: () => Promise.reject(new Error('stand-in')) }).compile();
      await app.init();
      const until = Date.now() + 500; // ten cleanup intervals
      while (Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await app.close();
      console.log(JSON.stringify({ uncaught, errors }));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, URL: db.url }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    assert.equal(exitCode, 0, out);
    const { uncaught, errors } = JSON.parse(out.trim().split('\n').pop()!) as { uncaught: string[]; errors: string[] };
    assert.deepEqual(uncaught, []);
    assert.deepEqual(errors, []);
  });

  it('two module instances in one app (other table prefixes) stay apart; each cache hands evicted accesses to its own writer', async () => {
    const instance = (tablePrefix: string, cacheSize: number) =>
      SessionModule.forRoot({ connectionString: db.url, createSchemaIfMissing: true, tablePrefix, cacheSize, isGlobal: false, logger: new RecordingLogger(), lastAccessUpdateInterval: 3_600_000 });

    @Module({ imports: [instance('lc_a_', 1)], providers: [{ provide: 'A', inject: [SessionService], useFactory: (s: SessionService) => s }], exports: ['A'] })
    class FeatureA {}
    @Module({ imports: [instance('lc_b_', 100)], providers: [{ provide: 'B', inject: [SessionService], useFactory: (s: SessionService) => s }], exports: ['B'] })
    class FeatureB {}

    const app: TestingModule = await Test.createTestingModule({ imports: [FeatureA, FeatureB] }).compile();
    await app.init();
    let evictedRead: Session;
    let evicted: Session;
    let other: Session;
    try {
      const a = app.get<SessionService>('A');
      const b = app.get<SessionService>('B');
      assert.notEqual(a, b, 'two instances');
      evicted = await a.createSession('lc-a-1');
      evictedRead = await readUntilAccessMoves(a, evicted);
      // A's cache holds one session: this one evicts the first, whose access must survive.
      await a.createSession('lc-a-2');
      other = await b.createSession('lc-b-1');
      await assert.rejects(b.getSession(evicted.id), SessionNotFoundError);
      await assert.rejects(a.getSession(other.id, { updateLastAccess: false }), SessionNotFoundError);
    } finally {
      await app.close();
    }
    assert.equal(await storedLastAccess('lc_a_sessions', evicted.id), evictedRead.lastAccessed.getTime(), 'the evicted entry\'s access was written by A');
    assert.equal(await storedLastAccess('lc_b_sessions', evicted.id), undefined);
    assert.ok((await storedLastAccess('lc_b_sessions', other.id)) !== undefined);
  });
});
