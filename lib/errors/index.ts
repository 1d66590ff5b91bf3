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
  type SessionErrorCode,
} from './session.errors.js';
