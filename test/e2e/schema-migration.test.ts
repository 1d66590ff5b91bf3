// The exported TypeORM migrations: one per schema and prefix, listed together and run
// together in one DataSource (TypeORM runs a migration once per name).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { createSessionSchemaMigration, SessionTables1732240000000, sessionSchemaMigrationName } from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { startNode } from '../support/nodes.js';

describe('schema migrations', () => {
  const db = useTestDatabase();

  it('the default migration and one for auth/app_ run together, and each creates its own tables', async () => {
    const AuthSessionTables = createSessionSchemaMigration({ schemaName: 'auth', tablePrefix: 'app_' });
    assert.notEqual(new AuthSessionTables().name, new SessionTables1732240000000().name);
    const ds = await new DataSource({ type: 'postgres', url: db.url, migrations: [SessionTables1732240000000, AuthSessionTables] }).initialize();
    try {
      const ran = await ds.runMigrations();
      assert.deepEqual(ran.map((m) => m.name).sort(), ['SessionTables1732240000000', 'SessionTables_auth.app_1732240000000']);
      assert.deepEqual(await ds.runMigrations(), []);
      const tables = await db.query<{ t: string }>(
        `SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE tablename LIKE '%sessions' AND schemaname IN ('public', 'auth') ORDER BY 1`,
      );
      assert.deepEqual(tables.map((r) => r.t), ['auth.app_sessions', 'public.sessions']);
      for (const options of [{}, { schemaName: 'auth', tablePrefix: 'app_' }]) {
        const node = await startNode(db.url, { ...options, createSchemaIfMissing: false });
        try {
          const s = await node.sessions.createSession('migrated-user');
          assert.equal((await node.sessions.getSession(s.id, { forceRefresh: true })).userId, 'migrated-user');
        } finally {
          await node.close();
        }
      }
    } finally {
      await ds.destroy();
    }
  });

  it('a migration added after the default one ran is not skipped as already run', async () => {
    const first = await new DataSource({ type: 'postgres', url: db.url, migrations: [SessionTables1732240000000] }).initialize();
    try {
      await first.runMigrations();
    } finally {
      await first.destroy();
    }
    const Later = createSessionSchemaMigration({ schemaName: 'later' });
    const ds = await new DataSource({ type: 'postgres', url: db.url, migrations: [SessionTables1732240000000, Later] }).initialize();
    try {
      assert.deepEqual((await ds.runMigrations()).map((m) => m.name), ['SessionTables_later.1732240000000']);
      assert.equal((await db.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'later' AND tablename = 'sessions'`)).length, 1);
    } finally {
      await ds.destroy();
    }
  });

  it('names are distinct per schema and prefix, and an explicit name must end in a timestamp', () => {
    assert.notEqual(sessionSchemaMigrationName('auth_app', ''), sessionSchemaMigrationName('auth', 'app_'));
    assert.equal(new (createSessionSchemaMigration({ schemaName: 'x', name: 'MyTables1800000000000' }))().name, 'MyTables1800000000000');
    assert.throws(() => createSessionSchemaMigration({ schemaName: 'x', name: 'MyTables' }), TypeError);
    assert.throws(() => createSessionSchemaMigration({ schemaName: 'bad-name' }), TypeError);
  });
});
