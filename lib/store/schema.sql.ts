import type { TableNames } from './table-names.js';

/**
 * DDL of one deployment (schema + prefix), idempotent. Shared by the start-up
 * `createSchemaIfMissing` path and the exported TypeORM migration.
 */
export function createSchemaStatements(t: TableNames): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${t.schema}`,
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
      id uuid PRIMARY KEY,
      user_id varchar(255) NOT NULL,
      group_id varchar(255),
      last_accessed timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL,
      version integer NOT NULL,
      include_inactivity boolean NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.index('sessions_user_id_idx')} ON ${t.sessions} (user_id)`,
    `CREATE INDEX IF NOT EXISTS ${t.index('sessions_group_id_idx')} ON ${t.sessions} (group_id) WHERE group_id IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${t.index('sessions_expires_at_idx')} ON ${t.sessions} (expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.attributes} (
      session_id uuid NOT NULL REFERENCES ${t.sessions} (id) ON DELETE CASCADE,
      key varchar(255) NOT NULL,
      value text NOT NULL,
      expires_at timestamptz,
      version integer NOT NULL,
      PRIMARY KEY (session_id, key)
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.index('session_attributes_expires_at_idx')} ON ${t.attributes} (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.cacheEpoch} (
      id smallint PRIMARY KEY,
      epoch bigint NOT NULL
    )`,
    `CREATE SEQUENCE IF NOT EXISTS ${t.lockTokens} AS bigint`,
    `CREATE TABLE IF NOT EXISTS ${t.locks} (
      session_id uuid NOT NULL REFERENCES ${t.sessions} (id) ON DELETE CASCADE,
      resource varchar(255) NOT NULL,
      owner uuid NOT NULL,
      fencing_token bigint NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (session_id, resource)
    )`,
  ];
}

/** Reverse of {@link createSchemaStatements} (the schema itself is left in place). */
export function dropSchemaStatements(t: TableNames): string[] {
  return [
    `DROP TABLE IF EXISTS ${t.locks}`,
    `DROP SEQUENCE IF EXISTS ${t.lockTokens}`,
    `DROP TABLE IF EXISTS ${t.cacheEpoch}`,
    `DROP TABLE IF EXISTS ${t.attributes}`,
    `DROP TABLE IF EXISTS ${t.sessions}`,
  ];
}

/** Serialises concurrent DDL of several starting nodes (CREATE … IF NOT EXISTS can still race). */
export const DDL_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('nestjs-pg-session:ddl', 0))`;

/** Returns one row: which of the required relations are missing (null = missing). */
export const CHECK_SCHEMA_SQL = `SELECT to_regclass($1) AS sessions, to_regclass($2) AS attributes, to_regclass($3) AS locks, to_regclass($4) AS cache_epoch`;
