import type { Statement } from './session.database.js';
import { attributeUpsert, changedSession, live, ms, msStart, sameSession, sessionAlive, sessionWrite, statementName, ts } from './sql-fragments.js';
import { statementsByShape, type SingleUpdateShape } from './single-update.statements.js';
import type { TableNames } from './table-names.js';

/**
 * The parts a batch uses besides setting attributes (each combination is its own prepared
 * statement): `checks` when some update of the batch checks attribute versions,
 * `deletes` when some update deletes attributes.
 */
export type BatchUpdateShape = SingleUpdateShape;

/**
 * A batch of independent updates (each of a different session) in one autocommit
 * statement: one round trip, one commit, one WAL flush and one NOTIFY for the batch.
 *
 * Each update applies only where its caller read the latest state: the session `UPDATE`
 * takes the row lock and applies only if the row's latest committed version and
 * `created_at` are the ones the caller read (a session created again under its id is
 * another one, whose versions restart), the session is alive and, with checks, every
 * checked attribute version (read in the statement's snapshot) still holds. Every
 * attribute write also bumps the session version, so where it applied the snapshot held
 * the latest attributes and the checks were exact. The attribute writes join the
 * `UPDATE`'s result, so they happen only where it applied, under its row lock. The caller
 * sorts the updates by id, so concurrent batches lock rows in one order.
 *
 * Only applied updates are reported. Those that were not (someone else changed the
 * session since its caller read it, a check failed, the session is gone or expired) are
 * run again by the caller, together, in the second form of this statement
 * (`staleBatchUpdateStatements`): there an update without checks also applies over a
 * newer version of the same session, if that is the one in the statement's snapshot (a
 * sub-select, evaluated only then), and `changed` carries `[i, session]` for it (the
 * columns and the attributes it did not write), so a batch of stale copies costs one more
 * statement, not one per update. What that does not apply runs on its own in the
 * single-update statement, which tells the failures apart and sends the notification for
 * a failed check. So the first form carries neither failure reporting nor the other
 * writer's state, whose sub-plans PostgreSQL would start on every execution: it is the
 * common case's cost, and a conflict pays one or two more round trips.
 *
 * Every attribute written gets the session's new version: it is higher than any version
 * the attribute had (each was at most the session version of its write), so versions
 * never repeat, also across a delete and re-create (no ABA for `checkAttributeVersion`),
 * and the caller knows them without reading them back.
 *
 * One result row, whatever the batch size (rows cost more to send and parse than json):
 * `updated_at` (ms, the same for all); `ok`: three arrays over the applied updates, their
 * `i`, new version, and `last_accessed` in ms, or null where it is the access the caller
 * sent, uncapped (the common case: no conversion to ms per row). A session expired by
 * either rule (the node's access counted, capped at the database clock) is not updated.
 *
 * Per update (arrays, one element per update): $1 id, $3 version read, $4 group changed,
 * $5 group id, $6 new expires_at ms (null: keep), $7 include_inactivity (null: keep), $8
 * notify on success. Per attribute (flattened, with the 1-based update index): $10-$13 set
 * (index, key, value, expiry ms), $14-$16 checked (index, key, version read; 0 = absent),
 * $17-$18 deleted (index, key). $19 channel, $20 sender node id. Per update again: $21 the
 * latest access the node knows of (ms, or null), $23 `created_at` of the session the
 * caller read (ms). $22 the idle limit (ms). Per update, for the second form only (the
 * first takes them empty): $2 check version, $24 whether it checks attribute versions. $9
 * is sent empty (the failed-check notice is the single-update statement's; the positions
 * stay). Every shape takes the same values; the one without checks needs $14-$16 empty,
 * the one without deletes $17-$18 (the store picks the shape from them).
 */
function batchUpdate(t: TableNames, shape: BatchUpdateShape, overNewer: boolean): Statement {
  const suffix = `${shape.checks ? '_chk' : ''}${shape.deletes ? '_del' : ''}`;
  const same = sameSession('x', 'u.created_from');
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
  const notChecked = shape.checks ? 'AND NOT EXISTS (SELECT 1 FROM chk WHERE chk.i = u.i)' : '';
  // Over a newer version only without checks, and only of the same session; then the snapshot's
  // version (a sub-select, evaluated only then) must be the row's latest, so its attributes are.
  const applies = overNewer
    ? `((x.version = u.expected AND ${same}) OR x.version = (SELECT y.version FROM ${t.sessions} y WHERE y.id = u.id))
                  AND (NOT u.check_version OR (x.version = u.expected AND ${same}))
                  ${shape.checks ? `AND (NOT u.checks OR ${same})` : ''} ${notChecked}`
    : `x.version = u.expected AND ${same} ${notChecked}`;
  const notDeleted = shape.deletes ? 'AND NOT EXISTS (SELECT 1 FROM unnest($17::int[], $18::text[]) AS d(i, key) WHERE d.i = u.i AND d.key = a.key)' : '';
  const changed = overNewer
    ? `,
                         CASE WHEN x.version - 1 <> u.expected OR NOT ${same} THEN
                           ${changedSession('x', `SELECT a.key, a.value, a.expires_at, a.version FROM ${t.attributes} a
                                                   WHERE a.session_id = x.id AND ${live('a')}
                                                     AND NOT EXISTS (SELECT 1 FROM unnest($10::int[], $11::text[]) AS w(i, key) WHERE w.i = u.i AND w.key = a.key)
                                                     ${notDeleted}`)}
                         END AS changed`
    : '';
  // Parameters a statement does not use are still typed, so every shape takes the same values.
  const unused = [
    ...(overNewer ? [] : ['cardinality($2::boolean[])', 'cardinality($24::boolean[])']),
    'cardinality($9::boolean[])',
    ...(shape.checks ? [] : ['cardinality($14::int[])', 'cardinality($15::text[])', 'cardinality($16::int[])']),
    ...(shape.deletes ? [] : ['cardinality($17::int[])', 'cardinality($18::text[])']),
  ].join(' + ');
  return {
    name: statementName(t, `${overNewer ? 'update_restale' : 'update_batch'}${suffix}`),
    text: `WITH u AS (
               SELECT u.*, ${msStart('u.created')} AS created_from
                 FROM unnest($1::uuid[], $3::int[], $4::boolean[], $5::text[], $6::float8[], $7::boolean[], $8::boolean[], $21::float8[], $23::float8[]${overNewer ? ', $2::boolean[], $24::boolean[]' : ''})
                 WITH ORDINALITY AS u(id, expected, group_changed, group_id, expires, incl, notify_ok, access, created${overNewer ? ', check_version, checks' : ''}, i)
             ), ${chk}s AS (
               UPDATE ${t.sessions} x
                  ${sessionWrite({ groupChanged: 'u.group_changed', groupId: 'u.group_id', expires: 'u.expires', includeInactivity: 'u.incl', access: 'u.access' })}
                 FROM u
                WHERE x.id = u.id AND ${sessionAlive('x', 'u.access', '$22')}
                  AND ${applies}
               RETURNING x.id, x.version, u.i AS i, u.notify_ok,
                         -- null when it is the caller's own access (the usual case): no ms() to compute. Compared
                         -- with that access as sent, not as capped: capped at now(), it is not what the caller has.
                         CASE WHEN x.last_accessed = ${ts('u.access')} THEN NULL ELSE ${ms('x.last_accessed')} END AS accessed${changed}
             ), up AS (
               ${attributeUpsert(t, 'unnest($10::int[], $11::text[], $12::text[], $13::float8[]) AS v(i, key, value, exp) JOIN s ON s.i = v.i')}
             )${del}
             -- One aggregate row (also when nothing applied). One payload: a batch has at most 64
             -- updates (MAX_UPDATE_BATCH in session.store.ts), ~2.6 kB of ids.
             SELECT ${ms('now()')} AS updated_at,
                    json_build_array(json_agg(s.i), json_agg(s.version), json_agg(s.accessed)) AS ok,${
                      overNewer ? `
                    json_agg(json_build_array(s.i, s.changed)) FILTER (WHERE s.changed IS NOT NULL) AS changed,` : ''}
                    CASE WHEN bool_or(s.notify_ok) THEN
                      pg_notify($19::text, json_build_object('n', $20::text, 't', 's', 'i', json_agg(s.id) FILTER (WHERE s.notify_ok))::text)
                    END AS notified, ${unused} AS unused
               FROM s`,
  };
}

/** The batch-update statements of a deployment (the first try), one per shape. */
export function batchUpdateStatements(t: TableNames): (shape: BatchUpdateShape) => Statement {
  return statementsByShape((shape) => batchUpdate(t, shape, false));
}

/** The second try of the updates a batch did not apply, together (applies over a newer version), one per shape. */
export function staleBatchUpdateStatements(t: TableNames): (shape: BatchUpdateShape) => Statement {
  return statementsByShape((shape) => batchUpdate(t, shape, true));
}
