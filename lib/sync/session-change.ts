/**
 * One cache invalidation heard from another node.
 * `ids` holds session ids for `'sessions'`, user ids for `'user'`, group ids for
 * `'group'`, and nothing for `'all'`.
 */
export interface SessionChange {
  type: 'sessions' | 'user' | 'group' | 'all';
  ids: string[];
}

/** State of this node's LISTEN connection. */
export type SyncStatus = 'listening' | 'reconnecting' | 'resynced';
