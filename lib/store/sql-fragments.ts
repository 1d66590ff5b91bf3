import type { TableNames } from './table-names.js';

/** SQL fragments shared by the statements of the session store. */

/** Prepared-statement name of one statement of a deployment (names differ per schema + prefix). */
export const statementName = (t: TableNames, what: string) => `nps_${t.channel.slice(-8)}_${what}`;

/** Epoch milliseconds of a timestamptz, as float8 (node-postgres returns a number). */
export const ms = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;
/** timestamptz from epoch milliseconds given as a float8 parameter (null stays null). */
export const ts = (param: string) => `to_timestamp(${param}::float8 / 1000)`;

export const sessionColumns = (alias: string) =>
  `${alias}.id, ${alias}.user_id, ${alias}.group_id, ${alias}.version, ${alias}.include_inactivity,
   ${ms(`${alias}.created_at`)} AS created_at, ${ms(`${alias}.updated_at`)} AS updated_at,
   ${ms(`${alias}.last_accessed`)} AS last_accessed, ${ms(`${alias}.expires_at`)} AS expires_at`;

/** json array of `[key, value, expiresAtMs, version]` tuples over a row source with those columns. */
export const attributeTuples = (source: string) =>
  `(SELECT coalesce(json_agg(json_build_array(x.key, x.value, ${ms('x.expires_at')}, x.version)), '[]'::json) FROM (${source}) x)`;

/**
 * An access time reported by a node (epoch ms parameter, may be null), never later
 * than the database's `now()`: a node whose clock runs ahead cannot push a session's
 * idle deadline into the future.
 */
export const nodeAccess = (param: string) => `CASE WHEN ${param}::float8 IS NOT NULL THEN least(${ts(param)}, now()) END`;
// (`least` skips nulls: without the CASE, "no access known" would read as "accessed now".)

/**
 * The `SET` list of an update of session row `x`: a new version and `updated_at`, the
 * group when the update changes it, `expires_at` and `include_inactivity` where given
 * (null: keep), and the node's known access folded into `last_accessed` (never back).
 * The arguments are SQL expressions (parameters or columns of the update's input).
 */
export const sessionWrite = (v: { groupChanged: string; groupId: string; expires: string; includeInactivity: string; access: string }) =>
  `SET version = x.version + 1,
                      updated_at = now(),
                      group_id = CASE WHEN ${v.groupChanged} THEN ${v.groupId} ELSE x.group_id END,
                      expires_at = coalesce(${ts(v.expires)}, x.expires_at),
                      include_inactivity = coalesce(${v.includeInactivity}, x.include_inactivity),
                      last_accessed = greatest(x.last_accessed, ${nodeAccess(v.access)})`;

/**
 * The session row `alias` is neither expired nor idle too long, on the database clock,
 * counting the latest access the writing node knows of (`accessParam`, epoch ms or
 * null) besides the stored one. `inactivityParam`: the idle limit in ms.
 */
export const sessionAlive = (alias: string, accessParam: string, inactivityParam: string) =>
  `(${alias}.expires_at > now() AND (NOT ${alias}.include_inactivity
     OR greatest(${alias}.last_accessed, ${nodeAccess(accessParam)}) + ${inactivityParam}::float8 * interval '1 millisecond' > now()))`;
// (Added to the access rather than subtracted from now(): a huge idle limit meaning "never"
// would take now() below the earliest timestamp and fail the statement.)

/**
 * The timestamptz at the start of an epoch millisecond given as a float8 expression,
 * exact to the microsecond for every timestamp PostgreSQL can store. Whole days, then the
 * milliseconds left, are added to the epoch: an interval times a float8 is computed in
 * float8 microseconds, so `ms * interval '1 millisecond'` alone comes out a few µs off
 * past ±2^53 µs / 125 (years ≈ 4253 and −312), and `to_timestamp` of float seconds
 * sooner. Each part here stays exact (a day count is a whole number whatever `floor`
 * rounded to, and the rest is under ~1e8 ms); the days are added to a `timestamp` in
 * UTC, so no time zone's daylight-saving shift enters.
 */
export const msStart = (msExpr: string) =>
  `((timestamp '1970-01-01' + floor(${msExpr}::float8 / 86400000) * interval '1 day'
     + (${msExpr}::float8 - floor(${msExpr}::float8 / 86400000) * 86400000) * interval '1 millisecond') AT TIME ZONE 'UTC')`;

/**
 * The session row `alias` is the one the caller read, not another created under the
 * same id since: versions restart at 1 in a re-created session, so only `created_at`
 * tells the two apart. `createdStart`: the start of the millisecond the caller read
 * ({@link msStart} of its `created_at` in epoch ms), so the row's `created_at` is
 * compared as a timestamp, without turning it into numeric milliseconds on every row.
 */
export const sameSession = (alias: string, createdStart: string) =>
  `(${alias}.created_at >= ${createdStart} AND ${alias}.created_at < ${createdStart} + interval '1 millisecond')`;

/** Live (not expired) attributes, as seen by the database clock. */
export const live = (alias: string) => `(${alias}.expires_at IS NULL OR ${alias}.expires_at > now())`;

/**
 * Notifies the ids of `source` (a CTE with an `id` column) in chunks of 150, so each
 * payload stays far under NOTIFY's 8000-byte limit however many rows were affected.
 * Parameters: channel and sender node id.
 */
export const notifyIdsInChunks = (source: string, channelParam: string, nodeParam: string) =>
  `SELECT pg_notify(${channelParam}::text, json_build_object('n', ${nodeParam}::text, 't', 's', 'i', json_agg(c.id))::text)
     FROM (SELECT id, (row_number() OVER () - 1) / 150 AS chunk FROM ${source}) c GROUP BY c.chunk`;

/**
 * What an update returns besides the new version when someone else changed the session
 * since the caller read it: the session's columns and `others` (its live attributes
 * other than those the update wrote or deleted), as one json object. `others` is a row
 * source with key, value, expires_at and version.
 */
export const changedSession = (alias: string, others: string) =>
  `json_build_object('id', ${alias}.id, 'user_id', ${alias}.user_id, 'group_id', ${alias}.group_id,
     'include_inactivity', ${alias}.include_inactivity, 'created_at', ${ms(`${alias}.created_at`)},
     'expires_at', ${ms(`${alias}.expires_at`)}, 'others', ${attributeTuples(others)})`;

/**
 * Writes an update's attributes: `from` yields the written session `s` (its `id` and new
 * `version`) and the attributes `v` (`key`, `value`, `exp` in epoch ms). Each gets the
 * session's new version; one that exists (also expired, not yet cleaned) is replaced.
 */
export const attributeUpsert = (t: TableNames, from: string) =>
  `INSERT INTO ${t.attributes} AS a (session_id, key, value, expires_at, version)
               SELECT s.id, v.key, v.value, ${ts('v.exp')}, s.version
                 FROM ${from}
               ON CONFLICT (session_id, key) DO UPDATE
                 SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, version = EXCLUDED.version`;
