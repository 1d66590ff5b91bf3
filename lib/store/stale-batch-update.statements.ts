import type { Statement } from './session.database.js';
import { changedSession, live, ms, msStart, nodeAccess, sameSession, sessionAlive, statementName, ts } from './sql-fragments.js';
import type { SingleUpdateShape } from './single-update.statements.js';
import type { TableNames } from './table-names.js';

/**
 * The second try of the updates a batch statement (`batch-update.statements.ts`) did not
 * apply, all of them together in one statement, instead of one single-update statement
 * each run at once: a batch of copies someone else changed since they were read (another
 * node wrote those sessions: no check involved) would otherwise become as many concurrent
 * statements as it has updates, outside the batcher's slots, and take the whole pool.
 *
 * This is the batch statement as it was before the first try lost its rare-case
 * sub-plans (9cd8374): the session `UPDATE` takes the row lock and applies if the row's
 * latest committed version is the one the caller read (of the same session) or, failing
 * that, the one in the statement's snapshot (a sub-select); with `checkVersion` or
 * attribute checks only at the caller's version of the same session. Where it applied
 * over someone else's newer state, `changed` carries that state (the columns and the
 * attributes the update did not write). What it did not apply (a failed check, gone or
 * expired, a commit landing between the snapshot and the lock) runs in the single-update
 * statement, which tells these apart and sends the failed-check notification.
 *
 * Parameters as the batch statement's, with these filled in: $2 check version (per
 * update), $24 whether it checks attribute versions (per update). $9 is sent empty.
 */
function staleBatchUpdate(t: TableNames, shape: SingleUpdateShape): Statement {
  const suffix = `${shape.checks ? '_chk' : ''}${shape.deletes ? '_del' : ''}`;
  const chk = shape.checks
    ? `chk AS (
               SELECT DISTINCT c.i
                 FROM unnest($14::int[], $15::text[], $16::int[]) AS c(i, key, ver)
                 JOIN u ON u.i = c.i
                 LEFT JOIN ${t.attributes} a ON a.session_id = u.id AND a.key = c.key AND ${live('a')}
                WHERE coalesce(a.version, 0) <> c.ver
             ), `
    : '';
  const del = shape.deletes
    ? `, del AS (
               DELETE FROM ${t.attributes} a USING unnest($17::int[], $18::text[]) AS d(i, key), s
                WHERE s.i = d.i AND a.session_id = s.id AND a.key = d.key
             )`
    : '';
  const notDeleted = shape.deletes ? 'AND NOT EXISTS (SELECT 1 FROM unnest($17::int[], $18::text[]) AS d(i, key) WHERE d.i = u.i AND d.key = a.key)' : '';
  // Parameters a shape does not use are still typed, so every shape takes the same values.
  const unused = `${shape.checks ? '' : ', cardinality($14::int[]) + cardinality($15::text[]) + cardinality($16::int[]) AS no_checks'}${
    shape.deletes ? '' : ', cardinality($17::int[]) + cardinality($18::text[]) AS no_deletes'}`;
  return {
    name: statementName(t, `update_restale${suffix}`),
    text: `WITH u AS (
               SELECT u.*, ${msStart('u.created')} AS created_from FROM unnest($1::uuid[], $2::boolean[], $3::int[], $4::boolean[], $5::text[], $6::float8[], $7::boolean[], $8::boolean[], $21::float8[], $23::float8[], $24::boolean[])
                 WITH ORDINALITY AS u(id, check_version, expected, group_changed, group_id, expires, incl, notify_ok, access, created, checks, i)
             ), ${chk}s AS (
               UPDATE ${t.sessions} x
                  SET version = x.version + 1,
                      updated_at = now(),
                      group_id = CASE WHEN u.group_changed THEN u.group_id ELSE x.group_id END,
                      expires_at = coalesce(${ts('u.expires')}, x.expires_at),
                      include_inactivity = coalesce(u.incl, x.include_inactivity),
                      last_accessed = greatest(x.last_accessed, ${nodeAccess('u.access')})
                 FROM u
                WHERE x.id = u.id AND ${sessionAlive('x', 'u.access', '$22')}
                  AND ((x.version = u.expected AND ${sameSession('x', 'u.created_from')}) OR x.version = (SELECT y.version FROM ${t.sessions} y WHERE y.id = u.id))
                  AND (NOT u.check_version OR (x.version = u.expected AND ${sameSession('x', 'u.created_from')}))
                  ${shape.checks ? `AND (NOT u.checks OR ${sameSession('x', 'u.created_from')}) AND NOT EXISTS (SELECT 1 FROM chk WHERE chk.i = u.i)` : ''}
               RETURNING x.id, x.version, u.i AS i, u.notify_ok,
                         -- null when it is the caller's own access (the usual case): no ms() to compute. Compared
                         -- with that access as sent, not as capped: capped at now(), it is not what the caller has.
                         CASE WHEN x.last_accessed = ${ts('u.access')} THEN NULL ELSE ${ms('x.last_accessed')} END AS accessed,
                         -- The snapshot's attributes are the latest here: the row applied at the snapshot's version.
                         CASE WHEN x.version - 1 <> u.expected OR NOT ${sameSession('x', 'u.created_from')} THEN
                           ${changedSession('x', `SELECT a.key, a.value, a.expires_at, a.version FROM ${t.attributes} a
                                                   WHERE a.session_id = x.id AND ${live('a')}
                                                     AND NOT EXISTS (SELECT 1 FROM unnest($10::int[], $11::text[]) AS w(i, key) WHERE w.i = u.i AND w.key = a.key)
                                                     ${notDeleted}`)}
                         END AS changed
             ), up AS (
               INSERT INTO ${t.attributes} AS a (session_id, key, value, expires_at, version)
               SELECT s.id, v.key, v.value, ${ts('v.exp')}, s.version
                 FROM unnest($10::int[], $11::text[], $12::text[], $13::float8[]) AS v(i, key, value, exp)
                 JOIN s ON s.i = v.i
               ON CONFLICT (session_id, key) DO UPDATE
                 SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, version = EXCLUDED.version
             )${del}
             -- One aggregate row (also when nothing applied). One payload: a batch has at most 64
             -- updates (MAX_UPDATE_BATCH in session.store.ts), ~2.6 kB of ids.
             SELECT ${ms('now()')} AS updated_at,
                    json_build_array(json_agg(s.i), json_agg(s.version), json_agg(s.accessed)) AS ok,
                    json_agg(json_build_array(s.i, s.changed)) FILTER (WHERE s.changed IS NOT NULL) AS changed,
                    CASE WHEN bool_or(s.notify_ok) THEN
                      pg_notify($19::text, json_build_object('n', $20::text, 't', 's', 'i', json_agg(s.id) FILTER (WHERE s.notify_ok))::text)
                    END AS notified, cardinality($9::boolean[]) AS no_failure_notice${unused}
               FROM s`,
  };
}

/** The stale-batch statements of a deployment, one per shape. */
export function staleBatchUpdateStatements(t: TableNames): (shape: SingleUpdateShape) => Statement {
  const byShape = [false, true].map((checks) => [false, true].map((deletes) => staleBatchUpdate(t, { checks, deletes })));
  return (shape) => byShape[Number(shape.checks)]![Number(shape.deletes)]!;
}
