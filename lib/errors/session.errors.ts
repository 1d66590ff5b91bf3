/** Stable machine-readable codes carried by every {@link SessionError}. */
export type SessionErrorCode =
  | 'SESSION_NOT_FOUND'
  | 'INVALID_SESSION_ID'
  | 'SESSION_CONFLICT'
  | 'SESSION_INVALIDATED'
  | 'ATTRIBUTE_TOO_LARGE'
  | 'LOCK_HELD'
  | 'LOCK_NOT_HELD'
  | 'LOCK_EXPIRED'
  | 'COMMIT_OUTCOME_UNKNOWN';

/**
 * Base class of every error this library throws on purpose. Match on `code`
 * (stable across versions) rather than on the message.
 */
export abstract class SessionError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: SessionErrorCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The session does not exist, was deleted, or has expired (absolutely or by inactivity). */
export class SessionNotFoundError extends SessionError {
  readonly code = 'SESSION_NOT_FOUND' as const;
  constructor(readonly sessionId: string) {
    super(`Session ${sessionId} was not found (absent, deleted or expired).`);
  }
}

/** The given session id is not a UUID; nothing was looked up. */
export class InvalidSessionIdError extends SessionError {
  readonly code = 'INVALID_SESSION_ID' as const;
  constructor(readonly sessionId: unknown) {
    super(`Invalid session id ${describe(sessionId)}: expected a UUID such as 1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b.`);
  }
}

/**
 * An optimistic version check failed: someone else changed the session (or, when
 * `attribute` is set, that attribute) since it was read. Nothing was written; read
 * the session again (e.g. `getSession(id, { forceRefresh: true })`) and retry.
 */
export class SessionConflictError extends SessionError {
  readonly code = 'SESSION_CONFLICT' as const;
  constructor(
    readonly sessionId: string,
    /** The attribute whose version check failed, when the conflict is per attribute. */
    readonly attribute?: string,
  ) {
    super(
      attribute === undefined
        ? `Session ${sessionId} was changed by someone else since it was read (version check failed); re-read it and retry.`
        : `Attribute "${attribute}" of session ${sessionId} was changed by someone else since it was read; re-read the session and retry.`,
    );
  }
}

/** `updateSession` was called with a session on which `invalidate()` was called. */
export class SessionInvalidatedError extends SessionError {
  readonly code = 'SESSION_INVALIDATED' as const;
  constructor(readonly sessionId: string) {
    super(`Session ${sessionId} was invalidated on this object and can no longer be saved; read it again with getSession().`);
  }
}

/** An attribute's stored JSON form is longer than `maxAttributeLength` bytes. */
export class AttributeTooLargeError extends SessionError {
  readonly code = 'ATTRIBUTE_TOO_LARGE' as const;
  constructor(
    readonly key: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`Attribute "${key}" is ${size} bytes as JSON, over the limit of ${limit} (option maxAttributeLength).`);
  }
}

/** Another holder's lease on this lock is still live. */
export class LockHeldError extends SessionError {
  readonly code = 'LOCK_HELD' as const;
  constructor(
    readonly sessionId: string,
    readonly resource: string,
  ) {
    super(`Lock "${resource}" on session ${sessionId} is held by someone else; retry later.`);
  }
}

/** `unlock()` or `extendLease()` on a lock that this lock object does not hold. */
export class LockNotHeldError extends SessionError {
  readonly code = 'LOCK_NOT_HELD' as const;
  constructor(
    readonly sessionId: string,
    readonly resource: string,
  ) {
    super(`Lock "${resource}" on session ${sessionId} is not held by this lock object.`);
  }
}

/** The lease of this lock ran out (or it was taken over) before the operation. */
export class LockExpiredError extends SessionError {
  readonly code = 'LOCK_EXPIRED' as const;
  constructor(
    readonly sessionId: string,
    readonly resource: string,
  ) {
    super(`The lease of lock "${resource}" on session ${sessionId} has expired; acquire it again with lock().`);
  }
}

/**
 * A write was sent, but the connection failed before PostgreSQL confirmed the commit
 * (the server went away, the connection was cut while COMMIT was in flight): the
 * change may or may not be stored. This node dropped its cached copies of what the
 * write touched, so the next read shows what the database holds. Read before you
 * retry a change that is not idempotent (e.g. an increment). `cause` is the driver's error.
 */
export class CommitOutcomeUnknownError extends SessionError {
  readonly code = 'COMMIT_OUTCOME_UNKNOWN' as const;
  constructor(
    /** What was being written, e.g. `update of session <id>`. */
    readonly operation: string,
    options: { cause: unknown },
  ) {
    super(
      `The ${operation} may or may not have been committed: the database connection failed before the commit was confirmed ` +
        `(${options.cause instanceof Error ? options.cause.message : String(options.cause)}). Read the current state before retrying.`,
    );
    this.cause = options.cause;
  }
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `(${typeof value})`;
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
