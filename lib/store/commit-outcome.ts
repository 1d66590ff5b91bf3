/**
 * Whether a failed write may still have been committed. A failure is either certain
 * (PostgreSQL refused the statement, or the write never left this process, or a
 * transaction failed before its COMMIT was sent: the server rolls it back) or
 * unknown (the connection failed after the statement or COMMIT was sent, so the
 * server may have committed before it went away).
 */
export type CommitOutcome = 'not-committed' | 'unknown';

const NOT_SENT = Symbol('nestjs-pg-session:not-committed');

/** Marks `err` as a failure that certainly committed nothing; returns it. */
export function notCommitted<E>(err: E): E {
  if (typeof err === 'object' && err !== null) (err as Record<symbol, boolean>)[NOT_SENT] = true;
  return err;
}

/**
 * SQLSTATEs that report the connection itself failing (class 08) or the server
 * terminating it (57P01-57P05): they can arrive after the commit was made durable.
 */
function isConnectionFailure(code: string): boolean {
  return code.startsWith('08') || code.startsWith('57P');
}

/** True for an error PostgreSQL sent for a statement: the statement (and its implicit transaction) was rolled back. */
export function isStatementError(err: unknown): boolean {
  // A server error carries a severity; a Node socket error can have a code of the same
  // shape ('EPIPE') and must not pass for one.
  const { code, severity } = (err ?? {}) as { code?: unknown; severity?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !isConnectionFailure(code);
}

/** What a failed write tells about its commit. */
export function commitOutcome(err: unknown): CommitOutcome {
  if (typeof err === 'object' && err !== null && (err as Record<symbol, boolean>)[NOT_SENT]) return 'not-committed';
  return isStatementError(err) ? 'not-committed' : 'unknown';
}
