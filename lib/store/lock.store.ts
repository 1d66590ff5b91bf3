import type { SessionDatabase } from './session.database.js';
import { lockStatements, type LockStatements } from './lock.statements.js';

/** Which lock, and which lock object (owner) asks. */
export interface LockKey {
  readonly sessionId: string;
  readonly resource: string;
  readonly owner: string;
}

/** Outcome of one acquisition attempt. */
export type AcquireResult =
  /** Acquired: `remaining` ms of lease, measured on the database clock. */
  | { kind: 'acquired'; fencingToken: number; remaining: number }
  /** Someone else's lease is live. */
  | { kind: 'held' }
  /** No unexpired session with that id. */
  | { kind: 'session-not-found' };

interface AcquireRow {
  session_live: boolean;
  fencing_token: string | null;
  remaining: number | null;
}

/** PostgreSQL's foreign_key_violation: the session was deleted while we inserted. */
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Every database operation of the distributed locks, each one statement in
 * autocommit. Database errors propagate unchanged (except a vanished session,
 * reported as `'session-not-found'`).
 */
export class LockStore {
  private readonly sql: LockStatements;

  constructor(
    private readonly db: SessionDatabase,
    /** `inactivityDuration`: a session idle for longer cannot be locked. */
    private readonly inactivity: number,
    /** The latest access of a session this node knows of (epoch ms), or null. */
    private readonly knownAccess: (sessionId: string) => number | null = () => null,
  ) {
    this.sql = lockStatements(db.tables);
  }

  /** One attempt to take the lock for `lease` ms. */
  async acquire(key: LockKey, lease: number): Promise<AcquireResult> {
    let row: AcquireRow | undefined;
    try {
      [row] = await this.db.query<AcquireRow>(this.sql.acquire, [key.sessionId, key.resource, key.owner, lease, this.knownAccess(key.sessionId), this.inactivity]);
    } catch (err) {
      if ((err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) return { kind: 'session-not-found' };
      throw err;
    }
    if (!row) throw new Error('nestjs-pg-session: the lock acquire statement returned no row');
    if (!row.session_live) return { kind: 'session-not-found' };
    if (row.fencing_token === null || row.remaining === null) return { kind: 'held' };
    return { kind: 'acquired', fencingToken: Number(row.fencing_token), remaining: row.remaining };
  }

  /**
   * Makes the lease of this acquisition last at least `duration` ms from now.
   * Returns the ms left on the lease, or null when the acquisition is no longer live.
   */
  async renew(key: LockKey, fencingToken: number, duration: number): Promise<number | null> {
    const [row] = await this.db.query<{ remaining: number }>(this.sql.renew, [key.sessionId, key.resource, key.owner, fencingToken, duration]);
    return row ? row.remaining : null;
  }

  /**
   * Ends this acquisition's lease. Returns false when there was no live lease of it to
   * end (it ran out, was taken over, or its session is gone): nothing is changed then.
   */
  async release(key: LockKey, fencingToken: number): Promise<boolean> {
    const rows = await this.db.query(this.sql.release, [key.sessionId, key.resource, key.owner, fencingToken]);
    return rows.length > 0;
  }

  /** Ends any live lease `key.owner` has on the lock, whatever its token. */
  async abandon(key: LockKey): Promise<void> {
    await this.db.query(this.sql.abandon, [key.sessionId, key.resource, key.owner]);
  }
}
