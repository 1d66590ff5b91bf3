import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedCookieOptions, ResolvedSessionOptions } from '../options/resolved-options.js';
import { RESOLVED_SESSION_OPTIONS } from '../options/internal.tokens.js';
import { canonicalSessionId } from '../session/session-id.js';
import type { Session } from '../session/session.interface.js';
import { cookieValues, decodeCookieValue, serializeCookie } from './cookie-header.js';
import { HmacSigner } from './hmac-signer.js';
import { appendSetCookie, cookieHeader } from './http-message.js';

/** A cookie value longer than this is not a session cookie of ours. */
const MAX_COOKIE_VALUE_LENGTH = 4096;

/**
 * Writes, clears and reads the session cookie on Express and Fastify (and plain
 * Node) requests and responses, with the module's `cookie` options. Reads the
 * raw `Cookie` header, so no cookie plugin is needed (one may be registered).
 *
 * The cookie holds `<sessionId>.<signature>` when `cookie.secrets` is set, else
 * the bare session id. A missing, malformed or badly signed cookie reads as
 * `null` before any database access.
 *
 * @example
 * ```ts
 * @Post('login')
 * async login(@Res({ passthrough: true }) res: unknown) {
 *   const session = await this.sessions.createSession(user.id);
 *   this.cookies.set(res, session);
 * }
 * ```
 */
@Injectable()
export class SessionCookieService {
  /** The resolved cookie options (defaults applied). */
  protected readonly options: ResolvedCookieOptions;
  /** Signs and verifies cookie values; null when no secrets are configured. */
  protected readonly signer: HmacSigner | null;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions) {
    this.options = options.cookie;
    this.signer = options.cookie.secrets.length > 0 ? new HmacSigner(options.cookie.secrets) : null;
  }

  /** Name of the session cookie. */
  get name(): string {
    return this.options.name;
  }

  /**
   * Adds a `Set-Cookie` header carrying the session (signed when secrets are set),
   * with `Max-Age` and `Expires` from `session.expiresAt` and the configured
   * `HttpOnly`, `Secure`, `SameSite`, `Path` and `Domain`. `Set-Cookie` headers
   * already on the response are kept.
   * @param response - an Express `res`, a Fastify reply or a Node `ServerResponse`.
   * @throws TypeError when `response` is none of these.
   */
  set(response: unknown, session: Pick<Session, 'id' | 'expiresAt'>): void {
    const expires = session.expiresAt;
    appendSetCookie(response, serializeCookie(this.options.name, this.encode(session.id), {
      ...this.attributes(),
      maxAge: (expires.getTime() - Date.now()) / 1000,
      expires,
    }));
  }

  /**
   * Adds a `Set-Cookie` header that deletes the session cookie (same name, path
   * and domain; empty value; `Max-Age=0` and an `Expires` in the past).
   * @param response - an Express `res`, a Fastify reply or a Node `ServerResponse`.
   */
  clear(response: unknown): void {
    appendSetCookie(response, serializeCookie(this.options.name, '', {
      ...this.attributes(),
      maxAge: 0,
      expires: new Date(0),
    }));
  }

  /**
   * The session id the request's cookie carries, verified and in canonical form,
   * or `null` when there is no such cookie or it is malformed, badly signed or not
   * a UUID. Whether the session exists is not checked (that needs the database).
   * Never throws for any request content.
   * @param request - an Express `req`, a Fastify request or a Node `IncomingMessage`.
   */
  read(request: unknown): string | null {
    for (const raw of cookieValues(cookieHeader(request), this.options.name)) {
      const id = this.decode(raw);
      if (id !== null) return id;
    }
    return null;
  }

  /** The cookie value for a session id: `<id>.<signature>` when signing, else the id. */
  encode(sessionId: string): string {
    return this.signer === null ? sessionId : this.signer.sign(sessionId);
  }

  /** The session id inside a cookie value (as sent), or null when it does not verify. Never throws. */
  decode(value: string): string | null {
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_COOKIE_VALUE_LENGTH) return null;
    const decoded = decodeCookieValue(value);
    if (decoded === null) return null;
    const id = this.signer === null ? decoded : this.signer.verify(decoded);
    return id === null ? null : canonicalSessionId(id);
  }

  private attributes(): { path: string; domain?: string; secure: boolean; httpOnly: boolean; sameSite: 'strict' | 'lax' | 'none' } {
    const { path, domain, secure, httpOnly, sameSite } = this.options;
    return domain === undefined ? { path, secure, httpOnly, sameSite } : { path, domain, secure, httpOnly, sameSite };
  }
}
