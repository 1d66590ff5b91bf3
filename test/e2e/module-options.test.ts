import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  createSessionSchemaMigration,
  SessionModule,
  SessionService,
  type SessionModuleOptions,
} from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { RecordingLogger, startNode } from '../support/nodes.js';

async function startFails(options: Record<string, unknown>): Promise<Error> {
  const builder = Test.createTestingModule({
    imports: [SessionModule.forRoot({ logger: new RecordingLogger(), ...options } as SessionModuleOptions)],
  });
  const result = await builder.compile().then(
    async (app) => {
      await app.close();
      return null;
    },
    (err: unknown) => err,
  );
  assert.ok(result instanceof Error, `start should fail for ${JSON.stringify(Object.keys(options))}`);
  return result;
}

describe('module registration and options', () => {
  const db = useTestDatabase();

  it('every invalid option fails start with an error naming it', async () => {
    const url = db.url;
    const cases: Array<[string, Record<string, unknown>]> = [
      ['connectionString', {}],
      ['connectionString', { connectionString: url, dataSource: {} }],
      ['connectionString', { connectionString: 'mysql://localhost/x' }],
      ['connectionString', { connectionString: 42 }],
      ['dataSource', { dataSource: { options: { type: 'mysql' } } }],
      ['listenConnectionString', { connectionString: url, listenConnectionString: 'http://x' }],
      ['preparedStatements', { connectionString: url, preparedStatements: 'yes' }],
      ['preparedStatements', { connectionString: url, preparedStatements: 0 }],
      ['schemaName', { connectionString: url, schemaName: 'bad-name' }],
      ['schemaName', { connectionString: url, schemaName: '1abc' }],
      ['tablePrefix', { connectionString: url, tablePrefix: 'x"; drop table y; --' }],
      ['tablePrefix', { connectionString: url, tablePrefix: 'a'.repeat(40) }],
      ['createSchemaIfMissing', { connectionString: url, createSchemaIfMissing: 'yes' }],
      ['maxSessions', { connectionString: url, maxSessions: 0 }],
      ['maxSessions', { connectionString: url, maxSessions: 1.5 }],
      ['maxAttributeLength', { connectionString: url, maxAttributeLength: -1 }],
      ['sessionExpiration', { connectionString: url, sessionExpiration: -5 }],
      ['sessionExpiration', { connectionString: url, sessionExpiration: Infinity }],
      ['inactivityDuration', { connectionString: url, inactivityDuration: NaN }],
      ['cleanupInterval', { connectionString: url, cleanupInterval: 0 }],
      ['cleanupInterval', { connectionString: url, cleanupInterval: 2 ** 40 }],
      ['cacheSize', { connectionString: url, cacheSize: 0 }],
      ['maxSessionLifetimeInCache', { connectionString: url, maxSessionLifetimeInCache: '1h' }],
      ['lastAccessUpdateInterval', { connectionString: url, lastAccessUpdateInterval: -1 }],
      ['lastAccessUpdateBatchSize', { connectionString: url, lastAccessUpdateBatchSize: 0 }],
      ['notifyOnUpdates', { connectionString: url, notifyOnUpdates: 1 }],
      ['notifyOnFailedUpdates', { connectionString: url, notifyOnFailedUpdates: 'no' }],
      ['reconnectInterval', { connectionString: url, reconnectInterval: 0 }],
      ['cookie', { connectionString: url, cookie: 'x' }],
      ['cookie.name', { connectionString: url, cookie: { name: 'a b' } }],
      ['cookie.secrets', { connectionString: url, cookie: { secrets: [''] } }],
      ['cookie.sameSite', { connectionString: url, cookie: { sameSite: 'sometimes' } }],
      ['cookie.secure', { connectionString: url, cookie: { sameSite: 'none', secure: false } }],
      ['cookie.path', { connectionString: url, cookie: { path: 'no-slash' } }],
      ['logger', { connectionString: url, logger: {} }],
      ['maxSesions', { connectionString: url, maxSesions: 3 }],
    ];
    for (const [option, options] of cases) {
      const err = await startFails(options);
      assert.match(err.message, new RegExp(`"${option.replace('.', '\\.')}"`), `message for ${option}: ${err.message}`);
    }
    const [{ count }] = await db.query<{ count: string }>(`SELECT count(*) FROM pg_tables WHERE tablename LIKE '%sessions%'`);
    assert.equal(count, '0', 'failed starts created nothing');
  });

  it('createSchemaIfMissing: false on an empty database fails start naming schema and prefix', async () => {
    const err = await startFails({ connectionString: db.url, schemaName: 'auth', tablePrefix: 'app_' });
    assert.match(err.message, /schema "auth"/);
    assert.match(err.message, /tablePrefix "app_"/);
    assert.match(err.message, /createSchemaIfMissing/);
  });

  it('honours schemaName and tablePrefix, and several nodes can start at once', async () => {
    const nodes = await Promise.all(
      Array.from({ length: 4 }, () => startNode(db.url, { schemaName: 'auth', tablePrefix: 'app_' })),
    );
    try {
      const tables = await db.query<{ schemaname: string; tablename: string }>(
        `SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'auth' ORDER BY tablename`);
      assert.deepEqual(tables.map((t) => t.tablename), ['app_session_attributes', 'app_session_cache_epoch', 'app_session_locks', 'app_sessions']);
      const s = await nodes[0]!.sessions.createSession('prefixed', { a: { value: 1 } });
      const [row] = await db.query<{ user_id: string }>(`SELECT user_id FROM auth.app_sessions WHERE id = $1`, [s.id]);
      assert.equal(row!.user_id, 'prefixed');
      assert.equal((await nodes[1]!.sessions.getSession(s.id)).getAttribute('a'), 1);
      // once the tables exist, a node without createSchemaIfMissing starts fine
      const plain = await startNode(db.url, { schemaName: 'auth', tablePrefix: 'app_', createSchemaIfMissing: false });
      await plain.close();
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('an unreachable listenConnectionString fails start with an error that says what to set', async () => {
    const unreachable = new URL(db.url);
    unreachable.port = '1'; // nothing listens there
    const builder = Test.createTestingModule({
      imports: [SessionModule.forRoot({ connectionString: db.url, listenConnectionString: unreachable.toString(), createSchemaIfMissing: true, logger: new RecordingLogger() })],
    });
    const app = await builder.compile();
    const err = await app.init().then(() => null, (e: unknown) => e);
    await app.close();
    assert.ok(err instanceof Error);
    assert.match(err.message, /LISTEN connection/);
    assert.match(err.message, /listenConnectionString/);
  });

  it('forRootAsync with useFactory + inject', async () => {
    @Injectable()
    class Config {
      readonly url = db.url;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}

    const app = await Test.createTestingModule({
      imports: [
        SessionModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config) => ({ connectionString: config.url, createSchemaIfMissing: true, maxSessions: 2, logger: new RecordingLogger() }),
        }),
      ],
    }).compile();
    await app.init();
    try {
      const sessions = app.get(SessionService);
      for (let i = 0; i < 3; i++) await sessions.createSession('async-user');
      assert.equal((await sessions.listUserSessions('async-user')).length, 2, 'the factory options are used');
    } finally {
      await app.close();
    }
  });

  it('forRootAsync validates the factory\'s options too', async () => {
    const err = await Test.createTestingModule({
      imports: [SessionModule.forRootAsync({ useFactory: () => ({ connectionString: db.url, cacheSize: -1 }) })],
    }).compile().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.match(err.message, /"cacheSize"/);
  });

  it('dataSource mode with a DataSource from @nestjs/typeorm, which the module does not destroy', async () => {
    let dataSource: DataSource | undefined;
    const app = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ type: 'postgres', url: db.url }),
        SessionModule.forRootAsync({
          inject: [getDataSourceToken()],
          useFactory: (ds: DataSource) => {
            dataSource = ds;
            return { dataSource: ds, createSchemaIfMissing: true, logger: new RecordingLogger() };
          },
        }),
      ],
    }).compile();
    await app.init();
    const sessions = app.get(SessionService);
    const s = await sessions.createSession('typeorm-user', { a: { value: [1] } });
    assert.deepEqual((await sessions.getSession(s.id, { forceRefresh: true })).getAttribute('a'), [1]);
    await app.close();
    assert.equal(dataSource?.isInitialized, false, '@nestjs/typeorm destroys its own DataSource on close');

    // with a DataSource the user manages by hand, the module leaves it open
    const own = await new DataSource({ type: 'postgres', url: db.url }).initialize();
    const app2 = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ dataSource: own, logger: new RecordingLogger() })],
    }).compile();
    await app2.init();
    await app2.close();
    assert.equal(own.isInitialized, true);
    await own.destroy();
  });

  it('the exported TypeORM migration creates the same schema, and down drops it', async () => {
    const Migration = createSessionSchemaMigration({ schemaName: 'migrated', tablePrefix: 'm_' }, 'SessionTables1732240000001');
    const ds = await new DataSource({ type: 'postgres', url: db.url, migrations: [Migration] }).initialize();
    try {
      await ds.runMigrations();
      const node = await startNode(db.url, { schemaName: 'migrated', tablePrefix: 'm_', createSchemaIfMissing: false });
      const s = await node.sessions.createSession('migrated-user');
      assert.equal((await node.sessions.getSession(s.id, { forceRefresh: true })).userId, 'migrated-user');
      await node.close();
      await ds.undoLastMigration();
      const tables = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'migrated'`);
      assert.deepEqual(tables, []);
    } finally {
      await ds.destroy();
    }
  });

  it('the module is global: a feature module injects SessionService without importing it', async () => {
    @Injectable()
    class Feature {
      constructor(readonly sessions: SessionService) {}
    }
    @Module({ providers: [Feature], exports: [Feature] })
    class FeatureModule {}
    const app = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ connectionString: db.url, createSchemaIfMissing: true, logger: new RecordingLogger() }), FeatureModule],
    }).compile();
    await app.init();
    try {
      assert.ok(app.get(Feature).sessions instanceof SessionService);
    } finally {
      await app.close();
    }
  });
});
