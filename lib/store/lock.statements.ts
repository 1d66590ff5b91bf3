import { sessionAlive, statementName } from './sql-fragments.js';
import type { TableNames } from './table-names.js';

/** Milliseconds from the database's `now()` until `column` (negative once past), as float8. */
const remaining = (column: string) => `(extract(epoch FROM ${column} - now()) * 1000)::float8`;
/** `now()` plus a float8 parameter of milliseconds: lease arithmetic on the database clock only. */
const fromNow = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`;

/**
 * Every SQL statement of the distributed locks of one deployment.
 *
 * A lock row lives as long as its session (foreign key, `ON DELETE CASCADE`).
 * Releasing a lock does not delete its row: it sets `expires_at` to `-infinity`.
 * Keeping the row means every later acquisition goes through `ON CONFLICT DO
 * UPDATE`, where the new fencing token is drawn while the row is locked, so tokens
 * of one (session, resource) strictly increase even if an acquirer stalls between
 * drawing a token and writing it (with deleted rows a stalled INSERT could land an
 * older token after a newer one).
 *
 * None of these statements touches the sessions table's rows beyond reading them,
 * so lock traffic never changes a session's `version`.
 */
export function lockStatements(t: TableNames) {
  const name = (what: string) => statementName(t, what);
  const token = `nextval('${t.lockTokens}'::regclass)`;
  return {
    /**
     * Takes the lock when it is free (no row, lease over, released) or when its row
     * is a stale acquisition of the same owner. One statement, so concurrent
     * acquirers are serialised by the row lock of the primary key.
     * Always returns one row: `session_live` (false: no such unexpired session),
     * and `fencing_token` (text) with `remaining` ms when acquired, else nulls.
     * A session expired by either rule (the node's latest known access counted) cannot be locked.
     * $1 session id, $2 resource, $3 owner, $4 lease ms, $5 the latest access of the
     * session this node knows of (ms, or null), $6 the idle limit (ms).
     */
    acquire: {
      name: name('lock_acquire'),
      text: `WITH s AS (
               SELECT x.id FROM ${t.sessions} x WHERE x.id = $1::uuid AND ${sessionAlive('x', '$5', '$6')}
             ), a AS (
               INSERT INTO ${t.locks} AS l (session_id, resource, owner, fencing_token, expires_at)
               SELECT s.id, $2::text, $3::uuid, ${token}, ${fromNow('$4')} FROM s
               ON CONFLICT (session_id, resource) DO UPDATE
                  SET owner = EXCLUDED.owner, fencing_token = ${token}, expires_at = EXCLUDED.expires_at
                WHERE l.expires_at <= now() OR l.owner = EXCLUDED.owner
               RETURNING l.fencing_token::text AS fencing_token, ${remaining('l.expires_at')} AS remaining
             )
             SELECT EXISTS (SELECT 1 FROM s) AS session_live, a.fencing_token, a.remaining
               FROM (VALUES (1)) AS one(x) LEFT JOIN a ON true`,
    },

    /**
     * Heartbeat and `extendLease`: the lease then ends no earlier than `$5` ms from
     * now (it never shortens). Only a live lease of this exact acquisition (owner
     * and token) is extended, so a lease that ran out, was released or was taken
     * over is never revived. No row: the lock is lost.
     * $1 session id, $2 resource, $3 owner, $4 fencing token, $5 ms.
     */
    renew: {
      name: name('lock_renew'),
      text: `UPDATE ${t.locks} l SET expires_at = greatest(l.expires_at, ${fromNow('$5')})
              WHERE l.session_id = $1::uuid AND l.resource = $2::text AND l.owner = $3::uuid
                AND l.fencing_token = $4::bigint AND l.expires_at > now()
             RETURNING ${remaining('l.expires_at')} AS remaining`,
    },

    /**
     * Releases one acquisition (owner and token) if its lease is still live, returning
     * a row then: no row means the holder had lost it (lease over, taken over, session
     * gone). Someone else's acquisition is never touched.
     * $1 session id, $2 resource, $3 owner, $4 fencing token.
     */
    release: {
      name: name('lock_release'),
      text: `UPDATE ${t.locks} SET expires_at = '-infinity'
              WHERE session_id = $1::uuid AND resource = $2::text AND owner = $3::uuid AND fencing_token = $4::bigint
                AND expires_at > now()
             RETURNING 1 AS released`,
    },

    /**
     * Releases whatever live lease `owner` has on the lock, token unknown: used after
     * an acquisition failed in a way that leaves open whether it committed.
     * $1 session id, $2 resource, $3 owner.
     */
    abandon: {
      name: name('lock_abandon'),
      text: `UPDATE ${t.locks} SET expires_at = '-infinity'
              WHERE session_id = $1::uuid AND resource = $2::text AND owner = $3::uuid AND expires_at > now()`,
    },
  };
}

/** The statements of {@link lockStatements}. */
export type LockStatements = ReturnType<typeof lockStatements>;
