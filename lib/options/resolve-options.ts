import { Logger } from '@nestjs/common';
import { isValidSchemaName, isValidTablePrefix } from '../store/table-names.js';
import type { ResolvedCookieOptions, ResolvedSessionOptions } from './resolved-options.js';
import type { SessionCookieOptions, SessionModuleOptions } from './session-module-options.interface.js';
import { DAY, HOUR, MINUTE } from './session.constants.js';
import { optionFailure, type FailOption } from '../validation/option.validation.js';

/** Longest delay `setTimeout` honours; longer ones fire at once. */
const MAX_TIMER_DELAY = 2_147_483_647;

const KNOWN_OPTIONS = new Set<keyof SessionModuleOptions>([
  'connectionString', 'dataSource', 'listenConnectionString', 'preparedStatements', 'schemaName', 'tablePrefix',
  'createSchemaIfMissing', 'maxSessions', 'maxAttributeLength', 'sessionExpiration',
  'inactivityDuration', 'cleanupInterval', 'cacheSize', 'maxSessionLifetimeInCache',
  'lastAccessUpdateInterval', 'lastAccessUpdateBatchSize', 'notifyOnUpdates',
  'notifyOnFailedUpdates', 'reconnectInterval', 'cookie', 'logger',
]);
const KNOWN_COOKIE_OPTIONS = new Set<keyof SessionCookieOptions>([
  'name', 'secrets', 'secure', 'httpOnly', 'sameSite', 'path', 'domain',
]);
/** RFC 6265 cookie-name token characters. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_ATTRIBUTE_VALUE = /^[\x21-\x3A\x3C-\x7E]+$/;

/** Throws an Error naming the option, what it expects and what it got. */
const fail: FailOption = optionFailure('option', Error);

function duration(options: SessionModuleOptions, key: keyof SessionModuleOptions, fallback: number, opts: { timer?: boolean } = {}): number {
  const value = options[key];
  if (value === undefined) return fallback;
  const max = opts.timer ? MAX_TIMER_DELAY : Number.MAX_SAFE_INTEGER;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    fail(key, `a positive, finite number of milliseconds${opts.timer ? ` (at most ${MAX_TIMER_DELAY})` : ''}`, value);
  }
  return value;
}

function integer(options: SessionModuleOptions, key: keyof SessionModuleOptions, fallback: number, min: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(key, `an integer >= ${min}`, value);
  }
  return value;
}

function boolean(options: SessionModuleOptions, key: keyof SessionModuleOptions, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(key, 'a boolean', value);
  return value;
}

function postgresUrl(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(key, 'a postgres:// URL string', value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(key, 'a postgres:// URL', '(an unparsable string)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    fail(key, 'a URL starting with postgres:// or postgresql://', `a ${url.protocol} URL`);
  }
  return value;
}

function resolveCookie(raw: unknown): ResolvedCookieOptions {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    fail('cookie', 'an object', raw);
  }
  const cookie = (raw ?? {}) as SessionCookieOptions;
  for (const key of Object.keys(cookie)) {
    if (!KNOWN_COOKIE_OPTIONS.has(key as keyof SessionCookieOptions)) fail(`cookie.${key}`, 'no such option (known: ' + [...KNOWN_COOKIE_OPTIONS].join(', ') + ')', key);
  }
  const name = cookie.name ?? 'session_id';
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) fail('cookie.name', 'a cookie-name token such as "session_id"', name);
  const secrets = cookie.secrets ?? [];
  if (!Array.isArray(secrets) || secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
    fail('cookie.secrets', 'an array of non-empty strings', secrets);
  }
  const sameSite = cookie.sameSite ?? 'lax';
  if (sameSite !== 'strict' && sameSite !== 'lax' && sameSite !== 'none') fail('cookie.sameSite', "'strict', 'lax' or 'none'", sameSite);
  const secure = cookie.secure ?? true;
  if (typeof secure !== 'boolean') fail('cookie.secure', 'a boolean', secure);
  if (sameSite === 'none' && !secure) fail('cookie.secure', "true when sameSite is 'none' (browsers reject SameSite=None without Secure)", secure);
  const httpOnly = cookie.httpOnly ?? true;
  if (typeof httpOnly !== 'boolean') fail('cookie.httpOnly', 'a boolean', httpOnly);
  const path = cookie.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/') || !COOKIE_ATTRIBUTE_VALUE.test(path)) fail('cookie.path', 'a path starting with "/" without ";" or spaces', path);
  const domain = cookie.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !COOKIE_ATTRIBUTE_VALUE.test(domain))) fail('cookie.domain', 'a domain name', domain);
  return Object.freeze({ name, secrets: Object.freeze([...secrets]), secure, httpOnly, sameSite, path, domain });
}

/**
 * Validates the user's options once, at start, and applies every default.
 * @throws Error naming the first invalid option.
 */
export function resolveSessionOptions(raw: SessionModuleOptions): ResolvedSessionOptions {
  if (typeof raw !== 'object' || raw === null) fail('options', 'an object', raw);
  for (const key of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(key as keyof SessionModuleOptions)) {
      fail(key, 'no such option; check the spelling against the options table in the README', key);
    }
  }
  const connectionString = postgresUrl('connectionString', raw.connectionString);
  const dataSource = raw.dataSource;
  if ((connectionString === undefined) === (dataSource === undefined)) {
    fail('connectionString', 'exactly one of "connectionString" or "dataSource"', connectionString === undefined ? 'neither' : 'both');
  }
  if (dataSource !== undefined) {
    const ds = dataSource as { options?: { type?: unknown }; isInitialized?: unknown };
    if (typeof ds !== 'object' || ds === null || typeof ds.options !== 'object') fail('dataSource', 'a TypeORM DataSource', dataSource);
    if (ds.options?.type !== 'postgres') fail('dataSource', 'a DataSource with type "postgres"', ds.options?.type);
  }
  const schemaName = raw.schemaName ?? 'public';
  if (!isValidSchemaName(schemaName)) fail('schemaName', 'an identifier matching ^[A-Za-z_][A-Za-z0-9_]*$ (at most 63 characters)', schemaName);
  const tablePrefix = raw.tablePrefix ?? '';
  if (!isValidTablePrefix(tablePrefix)) fail('tablePrefix', 'a string matching ^[A-Za-z0-9_]*$ (at most 30 characters)', tablePrefix);

  const preparedStatements = raw.preparedStatements ?? 'auto';
  if (preparedStatements !== 'auto' && typeof preparedStatements !== 'boolean') fail('preparedStatements', "'auto', true or false", preparedStatements);

  const lastAccessUpdateInterval = duration(raw, 'lastAccessUpdateInterval', 10 * MINUTE, { timer: true });
  const inactivityDuration = duration(raw, 'inactivityDuration', 48 * HOUR);
  const logger = raw.logger ?? new Logger('SessionModule');
  if (typeof logger !== 'object' || logger === null || typeof (logger as { log?: unknown }).log !== 'function') {
    fail('logger', 'a Nest LoggerService', logger);
  }
  const resolved: ResolvedSessionOptions = {
    connectionString,
    dataSource,
    listenConnectionString: postgresUrl('listenConnectionString', raw.listenConnectionString),
    preparedStatements,
    schemaName,
    tablePrefix,
    createSchemaIfMissing: boolean(raw, 'createSchemaIfMissing', false),
    maxSessions: integer(raw, 'maxSessions', 5, 1),
    maxAttributeLength: integer(raw, 'maxAttributeLength', 16384, 1),
    sessionExpiration: duration(raw, 'sessionExpiration', 30 * DAY),
    inactivityDuration,
    cleanupInterval: duration(raw, 'cleanupInterval', HOUR, { timer: true }),
    cacheSize: integer(raw, 'cacheSize', 1000, 1),
    maxSessionLifetimeInCache: duration(raw, 'maxSessionLifetimeInCache', 48 * HOUR),
    lastAccessUpdateInterval,
    lastAccessUpdateBatchSize: integer(raw, 'lastAccessUpdateBatchSize', 5000, 1),
    notifyOnUpdates: boolean(raw, 'notifyOnUpdates', true),
    notifyOnFailedUpdates: boolean(raw, 'notifyOnFailedUpdates', false),
    reconnectInterval: duration(raw, 'reconnectInterval', 1000, { timer: true }),
    cookie: resolveCookie(raw.cookie),
    logger,
  };
  if (inactivityDuration < 2 * lastAccessUpdateInterval) {
    logger.warn?.(
      `inactivityDuration (${inactivityDuration} ms) is shorter than twice lastAccessUpdateInterval (${lastAccessUpdateInterval} ms): ` +
        'accesses seen only by other nodes may reach the database too late to keep a session alive.',
    );
  }
  return Object.freeze(resolved);
}
