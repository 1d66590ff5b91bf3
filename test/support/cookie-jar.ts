/** One `Set-Cookie` header value, parsed. */
export interface SetCookie {
  readonly name: string;
  readonly value: string;
  /** Attributes by lower-case name; flags (HttpOnly, Secure) map to `true`. */
  readonly attributes: ReadonlyMap<string, string | true>;
  /** The header value as received. */
  readonly raw: string;
}

/** Parses one `Set-Cookie` header value. */
export function parseSetCookie(raw: string): SetCookie {
  const [pair = '', ...parts] = raw.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string | true>();
  for (const part of parts) {
    const i = part.indexOf('=');
    if (i === -1) attributes.set(part.trim().toLowerCase(), true);
    else attributes.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes, raw };
}

/** Whether a `Set-Cookie` deletes its cookie (Max-Age <= 0 or Expires in the past). */
export function deletes(cookie: SetCookie): boolean {
  const maxAge = cookie.attributes.get('max-age');
  if (typeof maxAge === 'string') return Number(maxAge) <= 0;
  const expires = cookie.attributes.get('expires');
  return typeof expires === 'string' && Date.parse(expires) <= Date.now();
}

/** A minimal cookie jar for one origin: keeps name=value pairs from responses, sends them back. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Applies the `Set-Cookie` headers of a response. */
  store(setCookies: readonly SetCookie[]): void {
    for (const cookie of setCookies) {
      if (deletes(cookie)) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  delete(name: string): void {
    this.cookies.delete(name);
  }

  /** A copy of this jar (e.g. to keep an old cookie around). */
  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [name, value] of this.cookies) copy.set(name, value);
    return copy;
  }

  /** The `Cookie` request header, or undefined when the jar is empty. */
  header(): string | undefined {
    return this.cookies.size === 0 ? undefined : [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
