import { createHmac, timingSafeEqual } from 'node:crypto';

/** Length of an HMAC-SHA256 digest in unpadded base64url. */
const SIGNATURE_LENGTH = 43;
/** Longer input is rejected before any hashing (a cookie this long is not ours). */
const MAX_SIGNED_LENGTH = 4096;
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Signs and verifies strings with HMAC-SHA256: `sign('x')` gives `x.<signature>`
 * with the signature in URL-safe base64 without padding (43 characters).
 *
 * Several secrets can be given: the first one signs, every one verifies. To
 * rotate, put the new secret first and keep the old one second until every
 * cookie signed with it has expired or been replaced, then drop it.
 *
 * @example
 * ```ts
 * const signer = new HmacSigner([process.env.NEW_SECRET!, process.env.OLD_SECRET!]);
 * const cookie = signer.sign(session.id);   // '<id>.<signature>'
 * signer.verify(cookie);                    // session.id
 * signer.verify('forged.value');            // null
 * ```
 */
export class HmacSigner {
  private readonly keys: readonly Buffer[];

  /**
   * @param secrets - HMAC keys, the signing one first. Use long random strings
   *   (32 random bytes or more).
   * @throws TypeError when the list is empty or holds anything but non-empty strings.
   */
  constructor(secrets: readonly string[]) {
    if (!Array.isArray(secrets) || secrets.length === 0) {
      throw new TypeError('HmacSigner needs at least one secret (the first one signs, every one verifies).');
    }
    this.keys = secrets.map((secret, index) => {
      if (typeof secret !== 'string' || secret.length === 0) {
        throw new TypeError(`HmacSigner: secrets[${index}] must be a non-empty string.`);
      }
      return Buffer.from(secret, 'utf8');
    });
  }

  /**
   * Returns `<value>.<signature>`, signed with the first secret.
   * @throws TypeError when `value` is not a well-formed string.
   */
  sign(value: string): string {
    if (!isWellFormedString(value)) throw new TypeError('HmacSigner.sign expects a well-formed string.');
    return `${value}.${mac(this.keys[0]!, value)}`;
  }

  /**
   * Returns the value of a string produced by {@link HmacSigner.sign} with any of
   * the secrets, or `null` when it is not one: wrong or missing signature, too
   * long, not a string. The value may contain dots (the signature follows the
   * last one). Signatures are compared in constant time. Never throws.
   */
  verify(signed: unknown): string | null {
    if (typeof signed !== 'string' || signed.length > MAX_SIGNED_LENGTH || signed.length <= SIGNATURE_LENGTH) return null;
    const dot = signed.length - SIGNATURE_LENGTH - 1;
    if (signed.charCodeAt(dot) !== 46 /* . */) return null;
    const signature = signed.slice(dot + 1);
    if (!SIGNATURE_PATTERN.test(signature)) return null;
    const value = signed.slice(0, dot);
    if (!isWellFormedString(value)) return null;
    // Compare the encoded forms: a non-canonical last base64 character that would
    // decode to the same bytes is rejected too. Every key is tried, so timing does
    // not tell which one matched.
    const given = Buffer.from(signature, 'latin1');
    let valid = false;
    for (const key of this.keys) {
      if (timingSafeEqual(given, Buffer.from(mac(key, value), 'latin1'))) valid = true;
    }
    return valid ? value : null;
  }
}

function mac(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}

/** A string without lone surrogates (which UTF-8 would silently turn into U+FFFD). */
function isWellFormedString(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const check = (value as { isWellFormed?: () => boolean }).isWellFormed;
  return typeof check === 'function' ? check.call(value) : !/[\uD800-\uDFFF]/.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
}
