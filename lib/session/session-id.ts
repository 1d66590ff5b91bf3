import { randomUUID } from 'node:crypto';

/** A new random (v4, crypto-strength) session id. */
export function newSessionId(): string {
  return randomUUID();
}

/**
 * Returns the canonical lower-case form of a UUID string, or null when `value` is
 * not one. A fixed-length character check: cheap enough for every request.
 */
export function canonicalSessionId(value: unknown): string | null {
  if (typeof value !== 'string' || value.length !== 36) return null;
  let lower = true;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45 /* - */) return null;
    } else if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) {
      // 0-9 a-f
    } else if (c >= 65 && c <= 70) {
      lower = false; // A-F
    } else {
      return null;
    }
  }
  return lower ? value : value.toLowerCase();
}
