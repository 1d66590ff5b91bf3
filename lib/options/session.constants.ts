/**
 * Limits and time units shared inside the library (not exported from the package).
 * Injection tokens are in `internal.tokens.ts`; the public constants live next to what
 * they belong to and are exported from `index.ts` (`SESSION_MODULE_OPTIONS`) and the
 * framework-store entry points (`FRAMEWORK_STORE_GROUP_ID`).
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Longest user id, group id and attribute key accepted. */
export const MAX_ID_LENGTH = 255;
