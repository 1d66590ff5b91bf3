import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaStatements, dropSchemaStatements } from './schema.sql.js';
import { TableNames } from './table-names.js';

/** Where a migration puts the tables; the same values as the module's options. */
export interface SessionSchemaMigrationOptions {
  /** @default 'public' */
  schemaName?: string | undefined;
  /** @default '' */
  tablePrefix?: string | undefined;
}

/**
 * Builds a TypeORM migration class that creates (and, on `down`, drops) the tables
 * this module uses, for teams that manage schema with migrations and run the module
 * with `createSchemaIfMissing: false`.
 *
 * @example
 * export const SessionTables1732240000000 = createSessionSchemaMigration({ schemaName: 'auth' });
 * new DataSource({ ..., migrations: [SessionTables1732240000000] });
 */
export function createSessionSchemaMigration(
  options: SessionSchemaMigrationOptions = {},
  name = 'SessionTables1732240000000',
): new () => MigrationInterface {
  const tables = new TableNames(options.schemaName ?? 'public', options.tablePrefix ?? '');
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
