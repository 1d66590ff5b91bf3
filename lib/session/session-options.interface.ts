/** Options of `SessionService.createSession`. */
export interface CreateSessionOptions {
  /** Group (tenant, account…) of the session, for `deleteAllSessionsByGroupId`. */
  groupId?: string | undefined;
  /** Absolute expiry; defaults to now + `sessionExpiration`. */
  expiresAt?: Date | undefined;
  /** Whether `inactivityDuration` applies. @default true */
  includeInactivity?: boolean | undefined;
}

/** Options of `SessionService.getSession`. */
export interface GetSessionOptions {
  /** Record this read as an access (written in the next batch, never per request). @default true */
  updateLastAccess?: boolean | undefined;
  /** Read the database even when the session is cached. @default false */
  forceRefresh?: boolean | undefined;
  /** Read the database when the cached version is lower than this. */
  minVersion?: number | undefined;
}

/** Options of `SessionService.updateSession`. */
export interface UpdateSessionOptions {
  /** Fail with `SessionConflictError` if the session changed since it was read. @default false */
  checkVersion?: boolean | undefined;
  /** Fail with `SessionConflictError` if an attribute this update writes changed since it was read. @default false */
  checkAttributeVersion?: boolean | undefined;
  /** Tell other nodes to drop their cached copy. @default true (and the module's `notifyOnUpdates`) */
  notify?: boolean | undefined;
  /** New absolute expiry of the session. */
  expiresAt?: Date | undefined;
  /** Change whether `inactivityDuration` applies. */
  includeInactivity?: boolean | undefined;
}

/** One entry of `SessionService.listUserSessions`. */
export interface SessionInfo {
  id: string;
  userId: string;
  groupId: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastAccessed: Date;
  expiresAt: Date;
}

/** Counters of one node, from `SessionService.stats()`. */
export interface SessionStats {
  /** Sessions in this node's cache. */
  cacheSize: number;
  /** Reads served from this node's cache. */
  cacheHits: number;
  /** Reads that went to the database. */
  cacheMisses: number;
  /** Invalidations received from other nodes. */
  notificationsReceived: number;
  /** Re-checks of the cache after the LISTEN connection came back. */
  resyncs: number;
  /** Whether the LISTEN connection is up (the cache serves only then). */
  listening: boolean;
}
