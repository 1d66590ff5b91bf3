/**
 * Duck-typed access to the request and response objects of Express, Fastify and
 * plain Node, so the library needs neither platform package at run time.
 * @internal
 */

type HeaderValue = string | number | readonly string[] | undefined;

interface FastifyReplyLike {
  raw: object;
  header(name: string, value: string): unknown;
  getHeader(name: string): HeaderValue;
}
interface ExpressResponseLike {
  append(name: string, value: string): unknown;
}
interface NodeResponseLike {
  getHeader(name: string): HeaderValue;
  setHeader(name: string, value: string | string[]): unknown;
}

function has<K extends string>(value: unknown, key: K): value is Record<K, unknown> {
  return typeof value === 'object' && value !== null && key in value;
}

/**
 * The object that identifies one request on every platform: Node's
 * `IncomingMessage` (Express' `req` is one; a Fastify request wraps it as `raw`).
 * @throws TypeError when `request` is not an object.
 */
export function requestKey(request: unknown): object {
  if (typeof request !== 'object' || request === null) {
    throw new TypeError('Expected an HTTP request (Express `req`, Fastify request or Node IncomingMessage).');
  }
  const raw = (request as { raw?: unknown }).raw;
  return typeof raw === 'object' && raw !== null ? raw : request;
}

/** The raw `Cookie` header of an Express, Fastify or Node request, if any. */
export function cookieHeader(request: unknown): string | string[] | undefined {
  const headers = has(request, 'headers') ? request.headers : has(request, 'raw') && has(request.raw, 'headers') ? request.raw.headers : undefined;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>).cookie;
  return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined;
}

/**
 * Adds a `Set-Cookie` header value to an Express response, a Fastify reply or a
 * Node `ServerResponse`, keeping the ones already set.
 * @throws TypeError when `response` is none of these.
 */
export function appendSetCookie(response: unknown, cookie: string): void {
  if (isFastifyReply(response)) {
    // Fastify's reply.header() appends to an existing set-cookie instead of replacing it.
    response.header('set-cookie', cookie);
  } else if (isExpressResponse(response)) {
    response.append('Set-Cookie', cookie);
  } else if (isNodeResponse(response)) {
    const previous = response.getHeader('set-cookie');
    const list = previous === undefined ? [] : Array.isArray(previous) ? [...previous] : [String(previous)];
    response.setHeader('Set-Cookie', [...list, cookie]);
  } else {
    throw new TypeError('Expected an HTTP response (Express `res`, Fastify reply or Node ServerResponse).');
  }
}

function isFastifyReply(value: unknown): value is FastifyReplyLike {
  return has(value, 'raw') && typeof value.raw === 'object' && has(value, 'header') && typeof value.header === 'function' && has(value, 'getHeader') && typeof value.getHeader === 'function';
}

function isExpressResponse(value: unknown): value is ExpressResponseLike {
  return has(value, 'append') && typeof value.append === 'function' && has(value, 'setHeader');
}

function isNodeResponse(value: unknown): value is NodeResponseLike {
  return has(value, 'setHeader') && typeof value.setHeader === 'function' && has(value, 'getHeader') && typeof value.getHeader === 'function';
}
