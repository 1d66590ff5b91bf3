export {
  SessionError,
  SessionNotFoundError,
  InvalidSessionIdError,
  SessionConflictError,
  SessionInvalidatedError,
  AttributeTooLargeError,
  LockHeldError,
  LockNotHeldError,
  LockExpiredError,
  CommitOutcomeUnknownError,
  type SessionErrorCode,
} from './session.errors.js';
