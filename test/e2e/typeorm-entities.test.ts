// The exported TypeORM entities: registered in an app's own DataSource next to the tables the
// module created (at start or by its migration, default or custom schema + prefix), TypeORM's
// schema diff is empty, and repositories read what SessionService wrote, joined to the app's User.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Column, DataSource, Entity, OneToMany, PrimaryColumn } from 'typeorm';
import {
  createSessionEntities,
  createSessionSchemaMigration,
  SessionEntities,
  type SessionEntitiesOptions,
  type SessionRecord,
} from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode } from '../support/nodes.js';

interface AppUser {
  id: string;
  name: string;
  sessions: SessionRecord[];
}

/** The app's User entity, as a decorated class, with its sessions (the inverse of `SessionRecord.user`). */
function defineUser(sessionEntity: () => new () => SessionRecord): new () => AppUser {
  @Entity({ name: 'app_users' })
  class User implements AppUser {
    @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'app_users_pkey' })
    id!: string;

    @Column({ type: 'text' })
    name!: string;

    @OneToMany(sessionEntity, 'user')
    sessions!: SessionRecord[];
  }
  return User;
}

type Placement = { label: string; schemaName?: string; tablePrefix?: string };
const placements: Placement[] = [
  { label: 'default schema, no prefix' },
  { label: 'schema auth, prefix app_', schemaName: 'auth', tablePrefix: 'app_' },
  // The longest prefix: PostgreSQL shortens the foreign key's generated name past 63 bytes.
  { label: 'schema auth, the longest prefix', schemaName: 'auth', tablePrefix: 'p'.repeat(30) },
];
const creators = ['createSchemaIfMissing', 'migration'] as const;

async function createTables(db: TestDatabase, how: (typeof creators)[number], placement: SessionEntitiesOptions): Promise<void> {
  if (how === 'createSchemaIfMissing') {
    const node = await startNode(db.url, { ...placement, createSchemaIfMissing: true });
    await node.close();
    return;
  }
  const ds = await new DataSource({ type: 'postgres', url: db.url, migrations: [createSessionSchemaMigration(placement)] }).initialize();
  try {
    await ds.runMigrations();
  } finally {
    await ds.destroy();
  }
}

/** Columns, constraints and indexes of some tables, as PostgreSQL describes them. */
async function catalog(db: TestDatabase, schemaName: string, tables: string[]): Promise<string[]> {
  const rows = await db.query<{ line: string }>(
    `SELECT c.relname || ' column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END AS line
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2) AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL
     SELECT c.relname || ' constraint ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2)
     UNION ALL
     SELECT tablename || ' index ' || indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2)
     ORDER BY 1`,
    [schemaName, tables],
  );
  return rows.map((r) => r.line);
}

describe('TypeORM entities of the session tables', () => {
  after(async () => {
    await assertNoOpenHandles();
  });

  for (const how of creators) {
    for (const { label, ...placement } of placements) {
      it(`tables made by ${how} (${label}): empty schema diff, repositories read the service's rows, User relation joins`, async () => {
        const db = await createTestDatabase();
        try {
          await createTables(db, how, placement);
          await db.query(`CREATE TABLE app_users (id varchar(255) PRIMARY KEY, name text NOT NULL)`);
          await db.query(`INSERT INTO app_users (id, name) VALUES ('alice', 'Alice'), ('bob', 'Bob')`);

          // The User class and the session entity refer to each other, hence the late-bound arrows.
          let User: (new () => AppUser) | undefined;
          const entities = createSessionEntities({ ...placement, user: { target: () => User!, inverseSide: 'sessions' } });
          User = defineUser(() => entities.session);
          const app = await new DataSource({ type: 'postgres', url: db.url, synchronize: false, entities: [User, ...entities.all] }).initialize();
          const node = await startNode(db.url, { ...placement, createSchemaIfMissing: false });
          try {
            const { upQueries } = await app.driver.createSchemaBuilder().log();
            const pending = upQueries.map((q) => q.query);
            assert.deepEqual(pending, [], `TypeORM wants to change the schema:\n${pending.join('\n')}`);

            const first = await node.sessions.createSession('alice', { theme: { value: 'dark' } }, { groupId: 'tenant-1' });
            const second = await node.sessions.createSession('alice', {}, {});
            await node.sessions.createSession('bob', { theme: { value: 'light' } });
            const stranger = await node.sessions.createSession('not-in-app-users');

            const sessions = app.getRepository(entities.session);
            const rows = await sessions.find({
              where: { userId: 'alice' },
              relations: { attributes: true, user: true },
              order: { createdAt: 'ASC', id: 'ASC' },
            });
            const listed = await node.sessions.listUserSessions('alice');
            assert.deepEqual(rows.map((r) => r.id).sort(), listed.map((s) => s.id).sort());
            assert.deepEqual(rows.map((r) => r.id).sort(), [first.id, second.id].sort());
            const firstRow = rows.find((r) => r.id === first.id);
            assert.ok(firstRow);
            assert.equal(firstRow.groupId, 'tenant-1');
            assert.equal(firstRow.version, 1);
            assert.equal(firstRow.includeInactivity, true);
            assert.ok(firstRow.expiresAt instanceof Date);
            assert.deepEqual(firstRow.attributes?.map((a) => [a.key, JSON.parse(a.value)]), [['theme', 'dark']]);
            assert.equal((firstRow.user as AppUser).name, 'Alice');
            // Loading the user relation hides no session: one whose user the app does not hold comes with user null.
            const orphan = await sessions.findOne({ where: { id: stranger.id }, relations: { user: true } });
            assert.equal(orphan?.id, stranger.id, 'the relation join hid a session of an unknown user');
            assert.equal(orphan?.user ?? null, null);

            const attribute = await app.getRepository(entities.attribute).findOne({
              where: { sessionId: first.id, key: 'theme' },
              relations: { session: true },
            });
            assert.equal(attribute?.session?.userId, 'alice');

            // From the app's side: the user with their sessions, and a join filtered on the group.
            const alice = await app.getRepository(User).findOne({ where: { id: 'alice' }, relations: { sessions: true } });
            assert.deepEqual(alice?.sessions.map((s) => s.id).sort(), [first.id, second.id].sort());
            const inTenant = await app
              .getRepository(User)
              .createQueryBuilder('u')
              .innerJoinAndSelect('u.sessions', 's', 's.groupId = :group', { group: 'tenant-1' })
              .getMany();
            assert.deepEqual(inTenant.map((u) => [u.id, u.sessions.map((s) => s.id)]), [['alice', [first.id]]]);
          } finally {
            await node.close();
            await app.destroy();
          }
        } finally {
          await db.drop();
        }
      });
    }
  }

  // TypeORM's diff does not compare primary-key names or index predicates, so the catalog of
  // tables TypeORM itself builds from the entities is compared with the module's, line by line.
  for (const { label, ...placement } of placements) {
    it(`tables TypeORM synchronizes from the entities equal the module's (${label}): columns, constraints, indexes`, async () => {
      const mine = await createTestDatabase();
      const theirs = await createTestDatabase();
      try {
        await createTables(mine, 'migration', placement);
        const schemaName = placement.schemaName ?? 'public';
        await theirs.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`);
        const ds = await new DataSource({ type: 'postgres', url: theirs.url, synchronize: true, entities: createSessionEntities(placement).all }).initialize();
        await ds.destroy();
        const tables = ['sessions', 'session_attributes'].map((t) => `${placement.tablePrefix ?? ''}${t}`);
        assert.deepEqual(await catalog(theirs, schemaName, tables), await catalog(mine, schemaName, tables));
      } finally {
        await mine.drop();
        await theirs.drop();
      }
    });
  }

  it('the ready-made entities are those of the default schema, and bad identifiers throw TypeError', () => {
    const [session, attribute] = SessionEntities;
    assert.equal(session.name, 'SessionRecord');
    assert.equal(attribute.name, 'SessionAttributeRecord');
    assert.equal(createSessionEntities({ schemaName: 'auth', tablePrefix: 'app_' }).session.name, 'SessionRecord$auth$app_');
    // Names of different places never collide.
    assert.notEqual(createSessionEntities({ schemaName: 'a_b' }).session.name, createSessionEntities({ schemaName: 'a', tablePrefix: 'b_' }).session.name);
    assert.throws(() => createSessionEntities({ schemaName: 'bad-name' }), TypeError);
    assert.throws(() => createSessionEntities({ tablePrefix: 'x"; DROP' }), TypeError);
  });
});
