import type { TestDatabase } from './database.js';

/** A stored lock row as the tests see it (times are database-clock epoch ms). */
export interface LockRow {
  token: number;
  expiresAt: number;
  live: boolean;
}

/** The database's clock, epoch ms. */
export async function dbNow(db: TestDatabase): Promise<number> {
  const [row] = await db.query<{ now: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`);
  return row!.now;
}

/** The lock row of (session, resource) in the default schema, if any. */
export async function lockRow(db: TestDatabase, sessionId: string, resource: string): Promise<LockRow | undefined> {
  const [row] = await db.query<{ token: string; expires_at: number; live: boolean }>(
    `SELECT fencing_token::text AS token, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at, expires_at > now() AS live
       FROM session_locks WHERE session_id = $1 AND resource = $2`,
    [sessionId, resource],
  );
  return row ? { token: Number(row.token), expiresAt: row.expires_at, live: row.live } : undefined;
}

/** How many live (unexpired) leases a session has, optionally for one resource. */
export async function liveLocks(db: TestDatabase, sessionId: string, resource?: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM session_locks WHERE session_id = $1 AND ($2::text IS NULL OR resource = $2) AND expires_at > now()`,
    [sessionId, resource ?? null],
  );
  return row!.n;
}

/** All lock rows of a session, live or not. */
export async function lockRowCount(db: TestDatabase, sessionId: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM session_locks WHERE session_id = $1`, [sessionId]);
  return row!.n;
}

/** The rejection reason of `promise`, or fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but the promise resolved');
    },
    (err: unknown) => err,
  );
}
