import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';
import { assertNoOpenHandles } from './handles.js';

/** URL of the server the test run uses (set by scripts/with-postgres.mjs or by the user). */
export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is unset: run the tests with `npm test`, which starts an embedded PostgreSQL.');
  return url;
}

/** A database of its own for one test file. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Runs one query on a short-lived connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
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

/** Creates a fresh, empty database, so test files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // A connection per query: nothing stays open between queries, so a test can check
    // for leaked sockets before it drops the database.
    async query(text, values) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * Gives the enclosing suite (or file) a database of its own: created before its tests;
 * after them (and after the `after` hooks of inner suites, which close their nodes),
 * checks that nothing is left open, then drops it.
 */
export function useTestDatabase(): TestDatabase {
  let db: TestDatabase | undefined;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await assertNoOpenHandles();
    await db?.drop();
  });
  return databaseOnceCreated(() => db);
}

/**
 * A handle on a database a `before` hook creates (`created` returns it, or undefined
 * until then), usable as soon as the suite is declared: it throws if used earlier.
 */
export function databaseOnceCreated(created: () => TestDatabase | undefined): TestDatabase {
  const current = (): TestDatabase => {
    const db = created();
    if (!db) throw new Error('The test database is created in a before hook; use it inside tests and hooks.');
    return db;
  };
  return {
    get url() { return current().url; },
    get name() { return current().name; },
    query: (text, values) => current().query(text, values),
    drop: () => current().drop(),
  };
}
