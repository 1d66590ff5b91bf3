import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaStatements, dropSchemaStatements } from './schema.sql.js';
import { isValidSchemaName, isValidTablePrefix, TableNames } from './table-names.js';

/** Where a migration puts the tables; the same values as the module's options. */
export interface SessionSchemaMigrationOptions {
  /** @default 'public' */
  schemaName?: string | undefined;
  /** @default '' */
  tablePrefix?: string | undefined;
  /**
   * The migration's name, as TypeORM records it in its migrations table; it must end in a
   * 13-digit timestamp. @default derived from the schema and prefix (see {@link sessionSchemaMigrationName})
   */
  name?: string | undefined;
}

const TIMESTAMP = '1732240000000';

/**
 * The default name of the migration for a schema and prefix: `SessionTables1732240000000`
 * for the default ones (`public`, no prefix), else `SessionTables_<schema>.<prefix>1732240000000`
 * (a `.` never occurs in either, so two places never share a name). TypeORM runs a migration
 * once per name: two migrations with one name fail with "Duplicate migrations", or the second
 * is skipped as already run.
 */
export function sessionSchemaMigrationName(schemaName = 'public', tablePrefix = ''): string {
  if (schemaName === 'public' && tablePrefix === '') return `SessionTables${TIMESTAMP}`;
  return `SessionTables_${schemaName}.${tablePrefix}${TIMESTAMP}`;
}

/**
 * Builds a TypeORM migration class that creates (and, on `down`, drops) the tables
 * this module uses, for teams that manage schema with migrations and run the module
 * with `createSchemaIfMissing: false`. Each schema and prefix gets its own migration
 * name, so several can be listed together.
 *
 * @param legacyName - the name, as the second argument of earlier versions; prefer `options.name`.
 * @throws TypeError for an invalid schema name, prefix or name.
 * @example
 * export const AuthSessionTables = createSessionSchemaMigration({ schemaName: 'auth', tablePrefix: 'app_' });
 * new DataSource({ ..., migrations: [SessionTables1732240000000, AuthSessionTables] });
 */
export function createSessionSchemaMigration(
  options: SessionSchemaMigrationOptions = {},
  legacyName?: string,
): new () => MigrationInterface {
  const schemaName = options.schemaName ?? 'public';
  const tablePrefix = options.tablePrefix ?? '';
  if (!isValidSchemaName(schemaName)) throw new TypeError(`nestjs-pg-session: invalid schemaName ${JSON.stringify(schemaName)} for the migration.`);
  if (!isValidTablePrefix(tablePrefix)) throw new TypeError(`nestjs-pg-session: invalid tablePrefix ${JSON.stringify(tablePrefix)} for the migration.`);
  const name = options.name ?? legacyName ?? sessionSchemaMigrationName(schemaName, tablePrefix);
  if (typeof name !== 'string' || !/^\S+\d{13}$/.test(name)) {
    throw new TypeError(`nestjs-pg-session: a migration name must end in a 13-digit timestamp (TypeORM orders by it), got ${JSON.stringify(name)}.`);
  }
  const tables = new TableNames(schemaName, tablePrefix);
  const migration = class implements MigrationInterface {
    name = name;
    async up(queryRunner: QueryRunner): Promise<void> {
      for (const sql of createSchemaStatements(tables)) await queryRunner.query(sql);
    }
    async down(queryRunner: QueryRunner): Promise<void> {
      for (const sql of dropSchemaStatements(tables)) await queryRunner.query(sql);
    }
  };
  Object.defineProperty(migration, 'name', { value: name });
  return migration;
}

/** The migration for the default schema (`public`) and no table prefix. */
export const SessionTables1732240000000 = createSessionSchemaMigration();
