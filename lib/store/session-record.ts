/** One attribute as stored: its JSON text, never a parsed value. Immutable. */
export interface StoredAttribute {
  readonly json: string;
  /** Epoch milliseconds, or null for no expiry. */
  readonly expiresAt: number | null;
  readonly version: number;
}

/**
 * A committed state of one session as read from (or returned by) the database.
 * Immutable once built: caches share it, views read it, writes replace it.
 * Times are epoch milliseconds.
 */
export interface SessionSnapshot {
  readonly id: string;
  readonly userId: string;
  readonly groupId: string | null;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastAccessed: number;
  readonly expiresAt: number;
  readonly includeInactivity: boolean;
  readonly attributes: ReadonlyMap<string, StoredAttribute>;
}

/** Columns of a session row as selected by the statements (times as epoch ms). */
export interface SessionRow {
  id: string;
  user_id: string;
  group_id: string | null;
  version: number;
  include_inactivity: boolean;
  created_at: number;
  updated_at: number;
  last_accessed: number;
  expires_at: number;
}

/** `[key, json, expiresAtMs | null, version]` as aggregated by the statements. */
export type AttributeTuple = [string, string, number | null, number];

export function toSnapshot(row: SessionRow, attributes: ReadonlyMap<string, StoredAttribute>): SessionSnapshot {
  return Object.freeze({
    id: row.id,
    userId: row.user_id,
    groupId: row.group_id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastAccessed: row.last_accessed,
    expiresAt: row.expires_at,
    includeInactivity: row.include_inactivity,
    attributes,
  });
}

export function attributesFromTuples(tuples: readonly AttributeTuple[] | null): Map<string, StoredAttribute> {
  const map = new Map<string, StoredAttribute>();
  if (tuples) {
    for (const [key, json, expiresAt, version] of tuples) map.set(internKey(key), storedAttribute(json, expiresAt, version));
  }
  return map;
}

/** One immutable stored attribute. */
export function storedAttribute(json: string, expiresAt: number | null, version: number): StoredAttribute {
  return Object.freeze({ json, expiresAt, version });
}

/**
 * Attribute keys repeat across sessions ("cart", "role"…), but each row read from the
 * database brings its own copy of the string. Sharing one copy per distinct key saves
 * that memory in every cached session; the table is bounded, so odd keys cost nothing.
 */
const internedKeys = new Map<string, string>();
const MAX_INTERNED_KEYS = 10_000;

export function internKey(key: string): string {
  const known = internedKeys.get(key);
  if (known !== undefined) return known;
  if (internedKeys.size < MAX_INTERNED_KEYS) internedKeys.set(key, key);
  return key;
}
