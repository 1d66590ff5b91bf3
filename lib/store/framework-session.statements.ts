import type { Statement } from './session.database.js';
import { attributeTuples, live, ms, notifyIdsInChunks, sessionAlive, sessionColumns, statementName, ts } from './sql-fragments.js';
import type { TableNames } from './table-names.js';

/**
 * The statements only the framework stores (express-session, @fastify/session) need:
 * sessions created under an id the caller chose, sessions that belong to no user yet,
 * and the deployment-wide `all` / `length` of a store. Kept apart from
 * `session.statements.ts` so the core statements stay as they are.
 */
export function frameworkSessionStatements(t: TableNames) {
  const name = (what: string) => statementName(t, what);
  // A session of no user is alive while it is neither expired nor (when it counts) idle too long.
  const alive = (alias: string) => sessionAlive(alias, 'NULL', '$2');
  return {
    /**
     * Inserts a session of no user (user_id = '') unless the id exists; no eviction,
     * since `maxSessions` is per user. Returns no row when the id was taken.
     * $1 id, $2 group, $3 expires_at ms (null: now() + $4 ms), $4 default lifetime ms,
     * $5 include_inactivity, $6 keys, $7 values, $8 attribute expiries ms.
     */
    createAnonymous: {
      name: name('fw_create_anon'),
      text: `WITH s AS (
               INSERT INTO ${t.sessions} (id, user_id, group_id, last_accessed, expires_at, updated_at, created_at, version, include_inactivity)
               VALUES ($1, '', $2, now(), coalesce(${ts('$3')}, now() + $4::float8 * interval '1 millisecond'), now(), now(), 1, $5)
               ON CONFLICT (id) DO NOTHING
               RETURNING *
             ), a AS (
               INSERT INTO ${t.attributes} (session_id, key, value, expires_at, version)
               SELECT s.id, v.key, v.value, ${ts('v.exp')}, 1
                 FROM s, unnest($6::text[], $7::text[], $8::float8[]) AS v(key, value, exp)
               RETURNING key, value, expires_at, version
             )
             SELECT ${sessionColumns('s')}, ${attributeTuples('SELECT * FROM a')} AS attrs FROM s`,
    } satisfies Statement,

    /**
     * Gives a session to a user (run in a transaction holding the user's advisory lock),
     * bumps its version, then keeps only the user's `maxSessions` most recently accessed
     * sessions (this one counts as just accessed) and notifies the session and the evicted.
     * $1 id, $2 user, $3 sessions to keep besides this one, $4 pending ids, $5 pending
     * access ms, $6 channel, $7 node id. No row when the session is gone.
     */
    assignUser: {
      name: name('fw_assign_user'),
      text: `WITH u AS (
               UPDATE ${t.sessions} SET user_id = $2, version = version + 1, updated_at = now(), last_accessed = greatest(last_accessed, now())
                WHERE id = $1
               RETURNING id
             ), evicted AS (
               DELETE FROM ${t.sessions} x WHERE x.id IN (
                 SELECT o.id FROM ${t.sessions} o
                   LEFT JOIN unnest($4::uuid[], $5::float8[]) AS p(id, at) ON p.id = o.id
                  WHERE o.user_id = $2 AND o.id <> $1 AND EXISTS (SELECT 1 FROM u)
                  ORDER BY greatest(o.last_accessed, ${ts('p.at')}) DESC, o.created_at DESC
                 OFFSET $3)
               RETURNING x.id
             ), n AS (${notifyIdsInChunks('(SELECT id FROM u UNION ALL SELECT id FROM evicted)', '$6', '$7')})
             SELECT u.id, (SELECT coalesce(json_agg(id), '[]'::json) FROM evicted) AS evicted,
                    (SELECT count(*) FROM n)::int AS notified
               FROM u`,
    } satisfies Statement,

    /** $1 group id, $2 inactivity ms → how many live sessions the group has. */
    countGroup: {
      name: name('fw_count_group'),
      text: `SELECT count(*)::int AS n FROM ${t.sessions} s WHERE s.group_id = $1 AND ${alive('s')}`,
    } satisfies Statement,

    /** $1 group id, $2 inactivity ms → one row per live attribute of the group's live sessions. */
    groupAttributes: {
      name: name('fw_group_attrs'),
      text: `SELECT s.id, a.key, a.value, ${ms('s.expires_at')} AS expires_at
               FROM ${t.sessions} s
               LEFT JOIN ${t.attributes} a ON a.session_id = s.id AND ${live('a')}
              WHERE s.group_id = $1 AND ${alive('s')}
              ORDER BY s.id`,
    } satisfies Statement,
  };
}

export type FrameworkSessionStatements = ReturnType<typeof frameworkSessionStatements>;
