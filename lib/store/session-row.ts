import type { SessionSnapshot } from '../session/session-snapshot.js';
import { StoredAttributes, type AttributeTuple } from '../session/stored-attributes.js';

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

export function toSnapshot(row: SessionRow, attributes: StoredAttributes): SessionSnapshot {
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

export function attributesFromTuples(tuples: readonly AttributeTuple[] | null): StoredAttributes {
  return tuples ? StoredAttributes.fromTuples(tuples) : StoredAttributes.empty;
}
