import { createHash } from 'node:crypto';

/**
 * The row id of a framework session: the first 128 bits of SHA-256 over the
 * framework's session id, laid out as a UUID (version 8, "custom"), so it fits the
 * `uuid` primary key while the table never holds a value a cookie could carry.
 * The framework's ids are long random strings (express-session: 24 random bytes),
 * so a hash is enough; no key is needed.
 */
export function frameworkRowId(sid: string): string {
  const hex = createHash('sha256').update(sid, 'utf8').digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
