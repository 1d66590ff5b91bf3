import { MAX_ID_LENGTH } from '../options/session.constants.js';

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `value` cannot be stored as a PostgreSQL `text`/`varchar` value unchanged, or
 * null when it can. PostgreSQL rejects NUL in text (error 22021, which would fail a
 * whole coalesced batch), and UTF-8 encoding turns a lone surrogate into U+FFFD, so
 * the stored string would differ from the one given.
 */
export function unstorableText(value: string): string | null {
  if (value.includes('\0')) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}

/**
 * Throws `TypeError` naming `field` unless `value` is a usable identifier: a non-empty
 * string of at most {@link MAX_ID_LENGTH} UTF-16 units that PostgreSQL stores as given.
 * The one check for user ids, group ids, attribute keys and lock resources.
 */
export function assertIdentifier(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new TypeError(`${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${show(value)}.`);
  }
  const why = unstorableText(value);
  if (why !== null) throw new TypeError(`${field} ${why}: ${show(value)}.`);
}

/** Short printable form of a rejected value for error messages. */
export function show(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
