import type { Statement } from './session.database.js';
import { attributeUpsert, live, ms, msStart, sameSession, sessionAlive, sessionWrite, statementName } from './sql-fragments.js';
import { statementsByShape, type SingleUpdateShape } from './single-update.statements.js';
import type { TableNames } from './table-names.js';

/**
 * A lone update's first try: it applies only if the caller read the latest committed
 * state of the session (its version and `created_at`), the session is alive and every
 * checked attribute version still holds. That is the common case, and then the
 * statement has nothing else to find out. It returns one row when it applied, none
 * otherwise; the caller then runs the single-update statement
 * (`single-update.statements.ts`), which applies an update without checks over someone
 * else's newer state, tells a failed check from a missing session, and sends the
 * failed-check notification.
 *
 * Why a statement of its own: PostgreSQL starts every sub-plan of a statement at each
 * execution, also one that never runs. The single-update statement's sub-plans for the
 * rare cases (the snapshot's version, the other attributes of a session someone else
 * changed) cost a lone update about a third of its execution time.
 *
 * Applied at the caller's version, the row lock confirms the snapshot held the latest
 * attributes, so the checks were exact (see `batch-update.statements.ts`). Every
 * attribute written gets the session's new version (versions never repeat).
 *
 * $1 id, $2 version read, $3 `created_at` read (ms), $4 set keys, $5 values, $6 expiries
 * ms, $7 deleted keys, $8 group changed, $9 group id, $10 new expires_at ms (null: keep),
 * $11 include_inactivity (null: keep), $12 channel, $13 sender node id, $14 notify,
 * $15 the latest access this node knows of (ms, or null), $16 the idle limit (ms),
 * $17 checked keys, $18 their read versions (0 = absent). Every shape takes the same
 * values; the one without checks requires $17 and $18 empty, the one without deletes $7.
 * Returns `version`, `updated_at` and `last_accessed` (ms).
 */
function exactUpdate(t: TableNames, shape: SingleUpdateShape): Statement {
  const suffix = `${shape.checks ? '_chk' : ''}${shape.deletes ? '_del' : ''}`;
  const chk = shape.checks
    ? `chk AS (
               SELECT 1 FROM unnest($17::text[], $18::int[]) AS c(key, ver)
                 LEFT JOIN ${t.attributes} a ON a.session_id = $1 AND a.key = c.key AND ${live('a')}
                WHERE coalesce(a.version, 0) <> c.ver
             ), `
    : '';
  const del = shape.deletes
    ? `, del AS (
               DELETE FROM ${t.attributes} a USING s
                WHERE a.session_id = s.id AND a.key = ANY($7::text[])
             )`
    : '';
  // Parameters a shape does not use are still typed, so every shape takes the same values.
  const unused = `${shape.checks ? '' : 'cardinality($17::text[]) + cardinality($18::int[])'}${shape.checks || shape.deletes ? '' : ' + '}${shape.deletes ? '' : 'cardinality($7::text[])'}`;
  return {
    name: statementName(t, `update_exact${suffix}`),
    text: `WITH ${chk}s AS (
               UPDATE ${t.sessions} x
                  ${sessionWrite({ groupChanged: '$8::boolean', groupId: '$9::text', expires: '$10', includeInactivity: '$11::boolean', access: '$15' })}
                WHERE x.id = $1 AND x.version = $2::int AND ${sameSession('x', msStart('$3'))}
                  AND ${sessionAlive('x', '$15', '$16')}
                  ${shape.checks ? 'AND NOT EXISTS (SELECT 1 FROM chk)' : ''}
               RETURNING x.id, x.version, x.updated_at, x.last_accessed
             ), up AS (
               ${attributeUpsert(t, 's, unnest($4::text[], $5::text[], $6::float8[]) AS v(key, value, exp)')}
             )${del}
             SELECT s.version, ${ms('s.updated_at')} AS updated_at, ${ms('s.last_accessed')} AS last_accessed,
                    CASE WHEN $14::boolean
                         THEN pg_notify($12::text, json_build_object('n', $13::text, 't', 's', 'i', json_build_array($1::text))::text)
                    END AS notified${unused === '' ? '' : `, ${unused} AS unused`}
               FROM s`,
  };
}

/** The exact-update statements of a deployment, one per shape. */
export function exactUpdateStatements(t: TableNames): (shape: SingleUpdateShape) => Statement {
  return statementsByShape((shape) => exactUpdate(t, shape));
}
