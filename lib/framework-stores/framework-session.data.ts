/**
 * Mapping between a framework's session data (one object) and attributes (one per
 * top-level key, stored as JSON text), and what the `cookie` key means for the
 * session's lifetime.
 */

/** The key a framework keeps the session cookie's settings under (express-session and @fastify/session). */
export const COOKIE_KEY = 'cookie';

/**
 * Each top-level key of `data` with its JSON text, as `JSON.stringify` would write it
 * (so `toJSON`, dates and dropped `undefined` values behave as in any JSON store).
 * Keys whose value JSON drops (undefined, functions) are absent. `skip` is left out.
 */
export function encodeData(data: Record<string, unknown>, skip?: string): Map<string, string> {
  const encoded = new Map<string, string>();
  for (const key of Object.keys(data)) {
    if (key === skip) continue;
    const json = JSON.stringify(data[key]) as string | undefined;
    if (json !== undefined) encoded.set(key, json);
  }
  return encoded;
}

/** The session data an attribute table stands for (fresh objects, safe for the framework to mutate). */
export function decodeData(attributes: Iterable<[string, string]>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [key, json] of attributes) data[key] = JSON.parse(json);
  return data;
}

/** What the cookie says about lifetime: its expiry (epoch ms) and its `originalMaxAge` (ms), each null when absent. */
export interface CookieLifetime {
  readonly expiresAt: number | null;
  readonly maxAge: number | null;
}

/** Reads the lifetime from a session's `cookie` value (a framework `Cookie` or its JSON). */
export function cookieLifetime(cookie: unknown): CookieLifetime {
  if (typeof cookie !== 'object' || cookie === null) return { expiresAt: null, maxAge: null };
  const { expires, originalMaxAge } = cookie as { expires?: unknown; originalMaxAge?: unknown };
  let expiresAt: number | null = null;
  if (expires instanceof Date || typeof expires === 'string' || typeof expires === 'number') {
    const at = new Date(expires).getTime();
    if (Number.isFinite(at)) expiresAt = at;
  }
  const maxAge = typeof originalMaxAge === 'number' && Number.isFinite(originalMaxAge) && originalMaxAge > 0 ? originalMaxAge : null;
  return { expiresAt, maxAge };
}

/**
 * True when two `cookie` JSON texts differ at most in their expiry (what every request
 * of a rolling or `maxAge` session changes): such a change is a touch, not a write.
 * `b` is the newer text.
 */
export function sameCookieButExpiry(a: string, b: string): boolean {
  if (a === b) return true;
  const older = withoutExpiry(a);
  const newer = withoutExpiry(b);
  return older.rest === newer.rest && sameMaxAgeButDrift(older.originalMaxAge, newer.originalMaxAge);
}

/** Upper bound (exclusive) of an `originalMaxAge` drift, see {@link sameMaxAgeButDrift}. */
const MAX_AGE_DRIFT_MS = 1000;

/**
 * express-session's `Cookie` sets `originalMaxAge` to `expires - Date.now()` each time
 * `expires` is set, and a rolling touch sets `expires` to `Date.now() + originalMaxAge`:
 * when the clock moves on between the two `Date.now()` calls (a millisecond tick, more
 * during a pause of the process), the cookie comes back with an `originalMaxAge` a few
 * ms lower than the stored one although nothing was changed. Such a drift is part of
 * the expiry moving; the stored value stays the reference (the next request rebuilds
 * its cookie from it, so drifts do not add up). A drift only ever lowers the value; a
 * raise, or a drop of at least a second or a tenth of the value, is the app's change.
 */
function sameMaxAgeButDrift(older: unknown, newer: unknown): boolean {
  if (older === newer) return true;
  if (typeof older !== 'number' || typeof newer !== 'number' || !Number.isFinite(older) || !Number.isFinite(newer)) return false;
  const drop = older - newer;
  return drop >= 0 && drop < Math.min(MAX_AGE_DRIFT_MS, older / 10);
}

/** The cookie without its expiry fields (`rest`, JSON text) and its `originalMaxAge`. */
function withoutExpiry(json: string): { rest: string; originalMaxAge: unknown } {
  const value = JSON.parse(json) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { rest: json, originalMaxAge: undefined };
  const { expires: _e, originalExpires: _o, originalMaxAge, ...rest } = value as Record<string, unknown>;
  return { rest: JSON.stringify(rest), originalMaxAge };
}

/** The cookie JSON with `expires` set to the session's real expiry (when the cookie has one). */
export function withExpiry(cookie: unknown, expiresAt: number): unknown {
  if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) return cookie;
  const c = cookie as Record<string, unknown>;
  if (c.expires === null || c.expires === undefined) return cookie;
  c.expires = new Date(expiresAt).toISOString();
  return c;
}
