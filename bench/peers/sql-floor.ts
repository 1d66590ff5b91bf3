import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ATTRIBUTE_KEYS, UPDATED_KEY } from '../data.js';
import { HEARD_CHANNEL } from './hand-batched-update.js';

/**
 * Physical floors in SQL: the least a database-backed store must do for each
 * operation, hand-written, one autocommit statement each, prepared, on a pg pool of
 * the same size as the library's (10).
 *
 * The write floors use copies of the library's tables (`floor_sessions`,
 * `floor_attributes`: same columns, keys and indexes, same rows), so they never make
 * the library's cache stale.
 */
export class SqlFloor {
  readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 10 });
  }

  /** Creates the floor tables as copies of the library's (after the library's rows are loaded). */
  static async createTables(admin: pg.Pool): Promise<void> {
    await admin.query(`CREATE TABLE floor_sessions (LIKE sessions INCLUDING ALL)`);
    await admin.query(`CREATE TABLE floor_attributes (LIKE session_attributes INCLUDING ALL)`);
    await admin.query(`INSERT INTO floor_sessions SELECT * FROM sessions`);
    await admin.query(`INSERT INTO floor_attributes SELECT * FROM session_attributes`);
    await admin.query(`ANALYZE floor_sessions`);
    await admin.query(`ANALYZE floor_attributes`);
  }

  /** Read floor: one primary-key SELECT of the session joined with its attributes (the library's tables). */
  get(id: string): Promise<pg.QueryResult> {
    return this.pool.query({
      name: 'floor_get',
      text: `SELECT s.id, s.user_id, s.group_id, s.version, s.include_inactivity, s.created_at, s.updated_at,
                    s.last_accessed, s.expires_at, a.key, a.value, a.expires_at AS a_expires_at, a.version AS a_version
               FROM sessions s LEFT JOIN session_attributes a ON a.session_id = s.id
              WHERE s.id = $1`,
      values: [id],
    });
  }

  /** Update floor: one autocommit single-row UPDATE of one attribute. */
  async update(id: string, value: unknown): Promise<void> {
    const r = await this.pool.query({
      name: 'floor_update',
      text: `UPDATE floor_attributes SET value = $3, version = version + 1 WHERE session_id = $1 AND key = $2`,
      values: [id, UPDATED_KEY, JSON.stringify(value)],
    });
    if (r.rowCount !== 1) throw new Error(`floor update touched ${r.rowCount} rows`);
  }

  /**
   * Reference for the update rows: the writes an update must make, by hand, in one
   * autocommit statement: the attribute, the session's version, and a NOTIFY, heard
   * (like the library's, by its own node) by the hand-batched reference's listener. No
   * checks, no lock before the write, nothing returned.
   */
  async updateWithSessionAndNotify(id: string, value: unknown): Promise<void> {
    const r = await this.pool.query({
      name: 'floor_update_session_notify',
      text: `WITH a AS (
               UPDATE floor_attributes SET value = $3, version = version + 1 WHERE session_id = $1 AND key = $2 RETURNING session_id
             ), s AS (
               UPDATE floor_sessions SET version = version + 1, updated_at = now() WHERE id = (SELECT session_id FROM a) RETURNING id
             )
             SELECT pg_notify('${HEARD_CHANNEL}', json_build_object('i', json_build_array($1::uuid))::text) FROM s`,
      values: [id, UPDATED_KEY, JSON.stringify(value)],
    });
    if (r.rowCount !== 1) throw new Error(`reference update touched ${r.rowCount} sessions`);
  }

  /** Create floor: one statement inserting the session row and its attributes. */
  async create(userId: string, attributes: Record<string, unknown>): Promise<void> {
    const values = ATTRIBUTE_KEYS.map((k) => JSON.stringify(attributes[k]));
    await this.pool.query({
      name: 'floor_create',
      text: `WITH s AS (
               INSERT INTO floor_sessions (id, user_id, group_id, last_accessed, expires_at, updated_at, created_at, version, include_inactivity)
               VALUES ($1, $2, NULL, now(), now() + interval '30 days', now(), now(), 1, true)
               RETURNING id
             )
             INSERT INTO floor_attributes (session_id, key, value, expires_at, version)
             SELECT s.id, v.key, v.value, NULL, 1 FROM s, unnest($3::text[], $4::text[]) AS v(key, value)`,
      values: [randomUUID(), userId, ATTRIBUTE_KEYS as unknown as string[], values],
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
