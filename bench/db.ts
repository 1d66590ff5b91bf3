import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ATTRIBUTE_KEYS, attributeJsonFor } from './data.js';

/** The server the bench runs against (set by scripts/with-postgres.mjs or by the user). */
export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is unset: run `npm run bench`, which starts an embedded PostgreSQL.');
  return url;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  readonly url: string;
  readonly name: string;
  /** A small pool for setup and checks (not used by any timed row). */
  readonly admin: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh database of the bench's own on the server, dropped at the end. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  const admin = new pg.Pool({ connectionString: url.toString(), max: 4 });
  return {
    url: url.toString(),
    name,
    admin,
    async drop() {
      await admin.end();
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * Inserts sessions `from..to-1` of the data set (ids from `idFor`) with their 5
 * attributes into a sessions/attributes table pair of the library's shape, in chunks.
 * The rows are what `createSession` would have written (version 1, 30-day expiry).
 */
export async function bulkInsertSessions(
  pool: pg.Pool,
  tables: { sessions: string; attributes: string },
  count: number,
  idFor: (i: number) => string,
  chunk = 5000,
): Promise<void> {
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    const ids: string[] = [];
    const users: string[] = [];
    const aIds: string[] = [];
    const aKeys: string[] = [];
    const aValues: string[] = [];
    for (let i = from; i < to; i++) {
      const id = idFor(i);
      ids.push(id);
      users.push(`user-${i}`);
      const json = attributeJsonFor(i);
      for (let k = 0; k < ATTRIBUTE_KEYS.length; k++) {
        aIds.push(id);
        aKeys.push(ATTRIBUTE_KEYS[k]!);
        aValues.push(json[k]!);
      }
    }
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ${tables.sessions} (id, user_id, group_id, last_accessed, expires_at, updated_at, created_at, version, include_inactivity)
         SELECT t.id, t.user_id, NULL, now(), now() + interval '30 days', now(), now(), 1, true
           FROM unnest($1::uuid[], $2::text[]) AS t(id, user_id)`,
        [ids, users],
      );
      await client.query(
        `INSERT INTO ${tables.attributes} (session_id, key, value, expires_at, version)
         SELECT t.id, t.key, t.value, NULL, 1 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, key, value)`,
        [aIds, aKeys, aValues],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  await pool.query(`ANALYZE ${tables.sessions}`);
  await pool.query(`ANALYZE ${tables.attributes}`);
}
