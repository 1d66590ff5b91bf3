/** Injection token of the validated, defaulted options (internal). */
export const RESOLVED_SESSION_OPTIONS = Symbol('nestjs-pg-session:resolved-options');
/** Injection token of the database access object (internal). */
export const SESSION_DATABASE = Symbol('nestjs-pg-session:database');

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Longest user id, group id and attribute key accepted. */
export const MAX_ID_LENGTH = 255;
