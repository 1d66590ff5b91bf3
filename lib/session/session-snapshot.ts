import type { StoredAttributes } from './stored-attributes.js';

/**
 * A committed state of one session as read from (or returned by) the database.
 * Immutable once built: caches share it, views read it, writes replace it.
 * Times are epoch milliseconds. Built from a row by `store/session-row.ts`.
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
  readonly attributes: StoredAttributes;
}
