import type { Statement } from './session.database.js';
import { attributeUpsert, changedSession, live, ms, msStart, sameSession, sessionAlive, sessionWrite, statementName } from './sql-fragments.js';
import type { TableNames } from './table-names.js';

/** The parts an update uses besides setting attributes; each combination is its own prepared statement. */
export interface SingleUpdateShape {
  /** Some attribute versions are checked (`checkAttributeVersion` with changed keys). */
  readonly checks: boolean;
  /** Some attributes are deleted. */
  readonly deletes: boolean;
}

/** Builds a statement once per shape (four prepared statements) and returns the lookup of a shape's. */
export function statementsByShape(build: (shape: SingleUpdateShape) => Statement): (shape: SingleUpdateShape) => Statement {
  const built = [false, true].map((checks) => [false, true].map((deletes) => build({ checks, deletes })));
  return (shape) => built[Number(shape.checks)]![Number(shape.deletes)]!;
}

/**
 * One update in one statement, with every case told apart: what an update runs when its
 * first try (the exact-update or batch statement) did not apply it, and inside a
 * transaction. Built per {@link SingleUpdateShape}, so an update runs without the parts
 * its shape does not need.
 *
 * The checks (version, attribute versions) read the statement's snapshot. The session
 * UPDATE locks the row and applies only if its latest committed version is the one the
 * caller read or, failing that, the snapshot's (a sub-select, evaluated only then).
 * Every attribute write also bumps that version, so then the snapshot holds the latest
 * attributes and the checks were exact. Otherwise (a commit landed between the snapshot
 * and the lock) nothing is written: the result shows the snapshot's version (`snap`,
 * read only when nothing was written) with no session row, and the caller runs it
 * again with a new snapshot. The attribute writes read the UPDATE's result, so
 * they happen only when it applied, under its row lock. Returns the new version and
 * times (written attributes get the new version, and the caller has their values); the
 * session's other columns and attributes only when someone changed it since the caller
 * read it (else the caller applies its own changes to what it read). The notification is
 * sent from the one result row.
 *
 * $1 id, $2 check version, $3 version read, $4 checked keys, $5 their read versions
 * (0 = absent when read), $6 set keys, $7 values, $8 expiries ms, $9 deleted keys,
 * $10 group changed, $11 group id, $12 new expires_at ms (null: keep),
 * $13 include_inactivity (null: keep), $14 channel, $15 sender node id,
 * $16 notify on success, $17 notify when a check failed, $18 the latest access this
 * node knows of (ms, or null), $19 the idle limit (ms), $20 `created_at` of the session
 * the caller read (ms: a session created again under its id is another one, whose
 * versions restart; it counts as changed by someone else). Every shape takes the same
 * values; the one without checks requires $4 and $5 empty.
 *
 * A session expired by either rule is not found (nothing written, nothing revived);
 * the node's known access counts, capped at the database clock, and is folded into
 * `last_accessed`. Every attribute the update writes (new, changed, or deleted and set
 * again) gets the session's new version, which it cannot have had before: every
 * attribute version is at most the session version of its write, so versions never
 * repeat and `checkAttributeVersion` cannot be fooled by a delete and re-create in
 * between (ABA).
 */
function singleUpdate(t: TableNames, shape: SingleUpdateShape): Statement {
  const suffix = `${shape.checks ? '_chk' : ''}${shape.deletes ? '_del' : ''}`;
  const created = msStart('$20');
  const chk = shape.checks
    ? `chk AS (
               SELECT c.key FROM unnest($4::text[], $5::int[]) AS c(key, ver)
                 LEFT JOIN ${t.attributes} a ON a.session_id = $1 AND a.key = c.key AND ${live('a')}
                WHERE coalesce(a.version, 0) <> c.ver
                LIMIT 1
             ), `
    : '';
  const del = shape.deletes
    ? `), del AS (
               DELETE FROM ${t.attributes} a USING s
                WHERE a.session_id = s.id AND a.key = ANY($9::text[])`
    : '';
  return {
    name: statementName(t, `update${suffix}`),
    text: `WITH ${chk}s AS (
               UPDATE ${t.sessions} x
                  ${sessionWrite({ groupChanged: '$10::boolean', groupId: '$11::text', expires: '$12', includeInactivity: '$13::boolean', access: '$18' })}
                WHERE x.id = $1 AND ${sessionAlive('x', '$18', '$19')}
                  AND ((x.version = $3::int AND ${sameSession('x', created)}) OR x.version = (SELECT y.version FROM ${t.sessions} y WHERE y.id = $1))
                  AND (NOT $2::boolean OR (x.version = $3::int AND ${sameSession('x', created)}))
                  ${shape.checks ? `AND ${sameSession('x', created)}` : ''}
                  ${shape.checks ? 'AND NOT EXISTS (SELECT 1 FROM chk)' : 'AND cardinality($4::text[]) + cardinality($5::int[]) = 0'}
               RETURNING x.*
             ), up AS (
               ${attributeUpsert(t, 's, unnest($6::text[], $7::text[], $8::float8[]) AS v(key, value, exp)')}
             ${del})
             SELECT snap.version AS snap_version, snap.created AS snap_created,
                    ${shape.checks ? '(SELECT key FROM chk)' : 'NULL::text'} AS conflict_key,
                    CASE WHEN (s.id IS NOT NULL AND $16::boolean) OR (s.id IS NULL AND snap.version IS NOT NULL AND $17::boolean)
                         THEN pg_notify($14::text, json_build_object('n', $15::text, 't', 's', 'i', json_build_array($1::text))::text)
                    END AS notified,
                    s.version, ${ms('s.updated_at')} AS updated_at, ${ms('s.last_accessed')} AS last_accessed,
                    CASE WHEN s.id IS NOT NULL AND (s.version - 1 <> $3::int OR NOT ${sameSession('s', created)}) THEN
                      ${changedSession('s', `SELECT a.key, a.value, a.expires_at, a.version FROM ${t.attributes} a
                                              WHERE a.session_id = $1 AND ${live('a')}
                                                AND a.key <> ALL($6::text[]) AND a.key <> ALL($9::text[])`)}
                    END AS changed
               FROM (VALUES (1)) AS one(x)
               LEFT JOIN s ON true
               LEFT JOIN LATERAL (
                 SELECT y.version, ${ms('y.created_at')} AS created FROM ${t.sessions} y
                  WHERE s.id IS NULL AND y.id = $1 AND ${sessionAlive('y', '$18', '$19')}
                 OFFSET 0
               ) snap ON true`,
  };
}

/** The single-update statements of a deployment, one per shape. */
export function singleUpdateStatements(t: TableNames): (shape: SingleUpdateShape) => Statement {
  return statementsByShape((shape) => singleUpdate(t, shape));
}
