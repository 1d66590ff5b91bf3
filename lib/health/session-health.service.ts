import { Inject, Injectable } from '@nestjs/common';
import { SESSION_DATABASE } from '../options/internal.tokens.js';
import type { SessionDatabase } from '../store/session.database.js';
import { SyncState } from '../sync/sync-state.js';

/** Default time the database has to answer a health check's trivial query. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1000;

/** What {@link SessionHealth.check} found. */
export interface SessionHealthReport {
  /** True when the database answered in time and this node's LISTEN connection is listening. */
  healthy: boolean;
  /** Whether the database answered a trivial query within the timeout. */
  database: 'up' | 'down';
  /** Why the database check failed (absent when it answered). */
  databaseError?: string;
  /** State of this node's LISTEN connection: `reconnecting` covers the re-check of the cache after a gap. */
  listener: 'listening' | 'reconnecting';
  /** Since when (ISO 8601) the LISTEN connection is down; absent while listening. */
  listenerDownSince?: string;
  /** Whether this node is re-checking its cache after a LISTEN gap. */
  resyncing: boolean;
}

/**
 * Health of this node's sessions: the database answers and the LISTEN connection
 * (which keeps the cache coherent) is up. Used by the Terminus indicator of
 * `nestjs-pg-session/terminus`; usable directly by other health frameworks.
 */
@Injectable()
export class SessionHealth {
  constructor(
    @Inject(SESSION_DATABASE) private readonly db: SessionDatabase,
    private readonly state: SyncState,
  ) {}

  /** Queries the database (at most `timeoutMs`) and reads the listener state; never throws. */
  async check(timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS): Promise<SessionHealthReport> {
    let databaseError: string | undefined;
    try {
      await this.db.ping(timeoutMs);
    } catch (err) {
      databaseError = err instanceof Error ? err.message : String(err);
    }
    const { listening, downSince, resyncing } = this.state;
    const report: SessionHealthReport = {
      healthy: databaseError === undefined && listening,
      database: databaseError === undefined ? 'up' : 'down',
      listener: listening ? 'listening' : 'reconnecting',
      resyncing,
    };
    if (databaseError !== undefined) report.databaseError = databaseError;
    if (!listening && downSince !== null) report.listenerDownSince = new Date(downSince).toISOString();
    return report;
  }
}
