import { CookieJar, parseSetCookie, type SetCookie } from './cookie-jar.js';

/** A response, read completely. */
export interface HttpResult<T = any> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
  readonly headers: Headers;
  readonly setCookies: SetCookie[];
}

/** Per-request options of {@link HttpClient}. */
export interface RequestOptions {
  /** JSON body. */
  body?: unknown;
  /** Sends exactly this `Cookie` header instead of the jar's (null: no cookie). The jar is not updated. */
  cookie?: string | null;
  headers?: Record<string, string>;
}

/**
 * Real HTTP requests with Node's fetch and a cookie jar. Every request asks for
 * `connection: close`, so no keep-alive socket outlives a test file.
 */
export class HttpClient {
  constructor(
    readonly baseUrl: string,
    readonly jar: CookieJar = new CookieJar(),
  ) {}

  /** Another client for the same jar on another base URL (another node). */
  on(baseUrl: string): HttpClient {
    return new HttpClient(baseUrl, this.jar);
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { connection: 'close', ...options.headers };
    const cookie = options.cookie === undefined ? this.jar.header() : options.cookie;
    if (cookie !== undefined && cookie !== null) headers.cookie = cookie;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(this.baseUrl + path, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    const setCookies = response.headers.getSetCookie().map(parseSetCookie);
    if (options.cookie === undefined) this.jar.store(setCookies);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers, setCookies };
  }

  get<T = any>(path: string, options?: RequestOptions): Promise<HttpResult<T>> {
    return this.request<T>('GET', path, options);
  }

  post<T = any>(path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpResult<T>> {
    return this.request<T>('POST', path, { ...options, body });
  }

  delete<T = any>(path: string, options?: RequestOptions): Promise<HttpResult<T>> {
    return this.request<T>('DELETE', path, options);
  }
}
