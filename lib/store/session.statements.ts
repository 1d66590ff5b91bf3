import type { Statement } from './session.database.js';
import { attributeTuples, changedSession, live, ms, nodeAccess, notifyIdsInChunks, sameSession, sessionAlive, sessionColumns, statementName, ts } from './sql-fragments.js';
import type { TableNames } from './table-names.js';

/** Every SQL statement of the session store for one deployment. */
export function sessionStatements(t: TableNames) {
  const name = (what: string) => statementName(t, what);
  return {
    /** $1 id → one row per live attribute (or one row with null key when none). */
    get: {
      name: name('get'),
      text: `SELECT ${sessionColumns('s')}, a.key, a.value, ${ms('a.expires_at')} AS a_expires_at, a.version AS a_version
               FROM ${t.sessions} s
               LEFT JOIN ${t.attributes} a ON a.session_id = s.id AND ${live('a')}
              WHERE s.id = $1`,
    },

    /**
     * Inserts a session and its attributes, then keeps only the user's `maxSessions`
     * most recently accessed ones (pending accesses of this node folded in), notifying
     * the evicted ids. Runs inside a transaction holding the user's advisory lock.
     * $1 id, $2 user, $3 group, $4 expires_at ms (null: now() + $5 ms), $5 default lifetime ms,
     * $6 include_inactivity, $7 keys, $8 values, $9 attribute expiries ms,
     * $10 pending ids, $11 pending access ms, $12 sessions to keep besides the new one,
     * $13 channel, $14 node id.
     */
    create: {
      name: name('create'),
      text: `WITH s AS (
               INSERT INTO ${t.sessions} (id, user_id, group_id, last_accessed, expires_at, updated_at, created_at, version, include_inactivity)
               VALUES ($1, $2, $3, now(), coalesce(${ts('$4')}, now() + $5::float8 * interval '1 millisecond'), now(), now(), 1, $6)
               RETURNING *
             ), a AS (
               INSERT INTO ${t.attributes} (session_id, key, value, expires_at, version)
               SELECT s.id, v.key, v.value, ${ts('v.exp')}, 1
                 FROM s, unnest($7::text[], $8::text[], $9::float8[]) AS v(key, value, exp)
               RETURNING key, value, expires_at, version
             ), evicted AS (
               DELETE FROM ${t.sessions} x WHERE x.id IN (
                 SELECT o.id FROM ${t.sessions} o
                   LEFT JOIN unnest($10::uuid[], $11::float8[]) AS p(id, at) ON p.id = o.id
                  WHERE o.user_id = $2
                  ORDER BY greatest(o.last_accessed, ${ts('p.at')}) DESC, o.created_at DESC
                 OFFSET $12)
               RETURNING x.id
             ), n AS (${notifyIdsInChunks('evicted', '$13', '$14')})
             SELECT ${sessionColumns('s')}, ${attributeTuples('SELECT * FROM a')} AS attrs,
                    (SELECT coalesce(json_agg(id), '[]'::json) FROM evicted) AS evicted,
                    (SELECT count(*) FROM n)::int AS notified
               FROM s`,
    },

    /** $1 key text → takes the per-user advisory lock of the current transaction. */
    lockUser: {
      name: name('lock_user'),
      text: `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`,
    },

    /**
     * Locks the session row (transactions that must see its latest attributes), if it
     * is neither expired nor idle too long. $1 id, $2 the latest access this node knows
     * of (ms, or null), $3 the idle limit (ms).
     */
    lockSession: {
      name: name('lock_session'),
      text: `SELECT x.id FROM ${t.sessions} x WHERE x.id = $1 AND ${sessionAlive('x', '$2', '$3')} FOR UPDATE`,
    },

    /**
     * Moves a session to a new id with the same data (run after {@link lockSession}).
     * $1 old id, $2 new id, $3 channel, $4 payload. Returns the new session with attributes.
     */
    regenerate: {
      name: name('regenerate'),
      text: `WITH old AS (
               DELETE FROM ${t.sessions} WHERE id = $1 RETURNING *
             ), s AS (
               INSERT INTO ${t.sessions} (id, user_id, group_id, last_accessed, expires_at, updated_at, created_at, version, include_inactivity)
               SELECT $2, user_id, group_id, now(), expires_at, now(), created_at, version, include_inactivity FROM old
               RETURNING *
             ), a AS (
               INSERT INTO ${t.attributes} (session_id, key, value, expires_at, version)
               SELECT s.id, x.key, x.value, x.expires_at, x.version
                 FROM s, ${t.attributes} x WHERE x.session_id = $1 AND ${live('x')}
               RETURNING key, value, expires_at, version
             ), n AS (
               SELECT pg_notify($3::text, $4::text) FROM old
             )
             SELECT ${sessionColumns('s')}, ${attributeTuples('SELECT * FROM a')} AS attrs,
                    (SELECT count(*) FROM n)::int AS notified
               FROM s`,
    },

    /** $1 id, $2 channel, $3 payload. */
    deleteOne: {
      name: name('delete_one'),
      text: `WITH d AS (DELETE FROM ${t.sessions} WHERE id = $1 RETURNING id)
             SELECT (SELECT count(*) FROM d)::int AS deleted, pg_notify($2::text, $3::text)`,
    },

    /** $1 user id, $2 channel, $3 payload. */
    deleteByUser: {
      text: `WITH d AS (DELETE FROM ${t.sessions} WHERE user_id = $1 RETURNING id)
             SELECT (SELECT count(*) FROM d)::int AS deleted, pg_notify($2::text, $3::text)`,
    },

    /** $1 group id, $2 channel, $3 payload. */
    deleteByGroup: {
      text: `WITH d AS (DELETE FROM ${t.sessions} WHERE group_id = $1 RETURNING id)
             SELECT (SELECT count(*) FROM d)::int AS deleted, pg_notify($2::text, $3::text)`,
    },

    /** $1 channel, $2 payload. */
    deleteAll: {
      text: `WITH d AS (DELETE FROM ${t.sessions} RETURNING id)
             SELECT (SELECT count(*) FROM d)::int AS deleted, pg_notify($1::text, $2::text)`,
    },

    /** $1 user id → locks the user's session rows in id order (run in a transaction). */
    lockUserSessions: {
      text: `SELECT id FROM ${t.sessions} WHERE user_id = $1 ORDER BY id FOR UPDATE`,
    },

    /**
     * Deletes one attribute from every session of a user and bumps those sessions'
     * versions (run after {@link lockUserSessions}). $1 user id, $2 key, $3 channel, $4 payload.
     */
    deleteUserAttribute: {
      text: `WITH d AS (
               DELETE FROM ${t.attributes} a USING ${t.sessions} s
                WHERE s.id = a.session_id AND s.user_id = $1 AND a.key = $2
               RETURNING a.session_id
             ), u AS (
               UPDATE ${t.sessions} x SET version = x.version + 1, updated_at = now()
                WHERE x.id IN (SELECT session_id FROM d)
               RETURNING x.id
             )
             SELECT (SELECT count(*) FROM u)::int AS updated, pg_notify($3::text, $4::text)`,
    },

    /** $1 user id → the user's unexpired sessions. */
    listByUser: {
      name: name('list_user'),
      text: `SELECT ${sessionColumns('s')} FROM ${t.sessions} s WHERE s.user_id = $1 AND s.expires_at > now()`,
    },

    /**
     * Writes accumulated last-access times; never moves one backwards, and never past
     * the database's `now()` (a node clock running ahead would delay idle expiry).
     * $1 ids (sorted, so concurrent flushes lock rows in one order), $2 access times ms.
     */
    flushLastAccess: {
      name: name('flush_access'),
      // Rows are locked in id order first, so flushes from several nodes never deadlock each other.
      text: `WITH locked AS (
               SELECT s.id FROM ${t.sessions} s WHERE s.id = ANY($1::uuid[]) ORDER BY s.id FOR NO KEY UPDATE
             )
             UPDATE ${t.sessions} x SET last_accessed = greatest(x.last_accessed, ${nodeAccess('p.at')})
               FROM unnest($1::uuid[], $2::float8[]) AS p(id, at), locked
              WHERE x.id = p.id AND locked.id = p.id`,
    },

    /** $1 key text → true when this transaction got the cleanup lock of the deployment. */
    tryCleanupLock: {
      text: `SELECT pg_try_advisory_xact_lock(hashtextextended($1::text, 0)) AS locked`,
    },

    /**
     * Deletes expired sessions (absolute or by inactivity) and expired attributes,
     * notifying deleted session ids in chunks. $1 inactivity ms, $2 channel, $3 node id.
     */
    cleanup: {
      text: `WITH d AS (
               DELETE FROM ${t.sessions}
                WHERE expires_at <= now()
                   OR (include_inactivity AND last_accessed + $1::float8 * interval '1 millisecond' <= now())
               RETURNING id
             ), da AS (
               DELETE FROM ${t.attributes} WHERE expires_at <= now() RETURNING session_id
             ), n AS (${notifyIdsInChunks('d', '$2', '$3')})
             SELECT (SELECT coalesce(json_agg(id), '[]'::json) FROM d) AS ids,
                    (SELECT count(*) FROM da)::int AS attributes,
                    (SELECT count(*) FROM n)::int AS notified`,
    },

    /**
     * A cache-only operation: counts it (so a node that was disconnected learns of it
     * when it resyncs) and notifies. $1 channel, $2 payload.
     */
    notifyCacheOnly: {
      text: `WITH e AS (
               INSERT INTO ${t.cacheEpoch} AS c (id, epoch) VALUES (1, 1)
               ON CONFLICT (id) DO UPDATE SET epoch = c.epoch + 1
               RETURNING epoch
             )
             SELECT pg_notify($1::text, $2::text), (SELECT epoch FROM e)`,
    },

    /** The count of cache-only operations so far, as text. */
    cacheEpoch: {
      text: `SELECT coalesce((SELECT epoch::text FROM ${t.cacheEpoch} WHERE id = 1), '0') AS epoch`,
    },

    /** $1 ids → current versions of those that still exist (resync after a gap). */
    versions: {
      text: `SELECT id, version FROM ${t.sessions} WHERE id = ANY($1::uuid[]) AND expires_at > now()`,
    },
  } satisfies Record<string, Statement>;
}

export type SessionStatements = ReturnType<typeof sessionStatements>;
