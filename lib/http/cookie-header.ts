/**
 * Reading the `Cookie` request header and writing `Set-Cookie` values, per
 * RFC 6265, without a cookie plugin.
 * @internal
 */

/** Attributes of one `Set-Cookie` value. */
export interface CookieAttributes {
  /** Seconds until the cookie expires; 0 deletes it. */
  maxAge?: number;
  expires?: Date;
  domain?: string;
  path?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'strict' | 'lax' | 'none';
}

/** A Cookie header longer than this is not parsed (Node's default header limit is 16 KiB). */
const MAX_HEADER_LENGTH = 32 * 1024;
/** RFC 6265 cookie-octet: printable ASCII except space, `"`, `,`, `;` and `\`. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;

/**
 * Every value the `Cookie` header gives for `name`, in header order (a browser
 * can send the same name twice, e.g. for two paths). Values are returned as sent,
 * minus optional surrounding double quotes; nothing is decoded. Never throws.
 */
export function cookieValues(header: unknown, name: string): string[] {
  const text = Array.isArray(header) ? header.filter((h) => typeof h === 'string').join('; ') : header;
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_HEADER_LENGTH) return [];
  const values: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const part = text.slice(start, end);
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      values.push(value);
    }
    start = end + 1;
  }
  return values;
}

/** Percent-decodes a cookie value when it holds an escape; null when the escape is malformed. */
export function decodeCookieValue(value: string): string | null {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * Serializes one `Set-Cookie` header value.
 * @throws TypeError when `value` holds characters a cookie value cannot carry.
 */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!COOKIE_VALUE.test(value)) throw new TypeError(`Cookie "${name}": the value holds characters a cookie cannot carry.`);
  let cookie = `${name}=${value}`;
  if (attributes.maxAge !== undefined) cookie += `; Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`;
  if (attributes.expires !== undefined) cookie += `; Expires=${attributes.expires.toUTCString()}`;
  if (attributes.domain !== undefined) cookie += `; Domain=${attributes.domain}`;
  if (attributes.path !== undefined) cookie += `; Path=${attributes.path}`;
  if (attributes.httpOnly) cookie += '; HttpOnly';
  if (attributes.secure) cookie += '; Secure';
  if (attributes.sameSite !== undefined) cookie += `; SameSite=${SAME_SITE[attributes.sameSite]}`;
  return cookie;
}
