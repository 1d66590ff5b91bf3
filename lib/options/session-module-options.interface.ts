import type { LoggerService } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** Cookie settings used by {@link SessionCookieService} and the HTTP decorators. */
export interface SessionCookieOptions {
  /** Cookie name. @default 'session_id' */
  name?: string | undefined;
  /**
   * HMAC-SHA256 keys. The first signs; every one verifies, so a new key can be put
   * first and the old one kept second during a rotation. None: the cookie holds the
   * bare session id (unsigned).
   * @default []
   */
  secrets?: string[] | undefined;
  /** `Secure` flag. Browsers still accept it on `http://localhost`. @default true */
  secure?: boolean | undefined;
  /** `HttpOnly` flag. @default true */
  httpOnly?: boolean | undefined;
  /** `SameSite` attribute. @default 'lax' */
  sameSite?: 'strict' | 'lax' | 'none' | undefined;
  /** `Path` attribute. @default '/' */
  path?: string | undefined;
  /** `Domain` attribute; unset means host-only. */
  domain?: string | undefined;
}

/**
 * Options of {@link SessionModule.forRoot}. Durations are milliseconds. Everything is
 * validated once at start; an invalid value fails start with an error naming it.
 */
export interface SessionModuleOptions {
  /** `postgres://…` URL; the module creates (and later destroys) its own TypeORM `DataSource`. */
  connectionString?: string | undefined;
  /**
   * An existing, initialised TypeORM `DataSource` with the `postgres` driver (for
   * example injected from `@nestjs/typeorm` in `forRootAsync`). The module never
   * destroys it. Give exactly one of `connectionString` / `dataSource`.
   */
  dataSource?: DataSource | undefined;
  /**
   * Where the dedicated LISTEN connection goes, when it must bypass a pooler
   * (PgBouncer in transaction mode cannot LISTEN). Derived from the main connection when unset.
   */
  listenConnectionString?: string | undefined;
  /** Schema of the tables; must match `^[A-Za-z_][A-Za-z0-9_]*$`. @default 'public' */
  schemaName?: string | undefined;
  /** Prefix of the table names; must match `^[A-Za-z0-9_]*$`. @default '' */
  tablePrefix?: string | undefined;
  /** Create schema, tables and indexes at start when missing. @default false */
  createSchemaIfMissing?: boolean | undefined;
  /** Sessions kept per user; creating one more removes the least recently accessed. @default 5 */
  maxSessions?: number | undefined;
  /** Maximum bytes of one attribute's stored JSON form. @default 16384 */
  maxAttributeLength?: number | undefined;
  /** Absolute lifetime of a new session. @default 30 days */
  sessionExpiration?: number | undefined;
  /** Idle lifetime, for sessions created with `includeInactivity`. @default 48 hours */
  inactivityDuration?: number | undefined;
  /** How often expired sessions and attributes are deleted. @default 1 hour */
  cleanupInterval?: number | undefined;
  /** Sessions held in each node's LRU cache. @default 1000 */
  cacheSize?: number | undefined;
  /** A cached entry older than this is re-read from the database. @default 48 hours */
  maxSessionLifetimeInCache?: number | undefined;
  /** How often accumulated last-access times are written. @default 10 minutes */
  lastAccessUpdateInterval?: number | undefined;
  /** Sessions per batched last-access statement. @default 5000 */
  lastAccessUpdateBatchSize?: number | undefined;
  /** Tell other nodes to drop their cached copy after an update. @default true */
  notifyOnUpdates?: boolean | undefined;
  /** Also notify when an update fails its version check (their copy is likely stale). @default false */
  notifyOnFailedUpdates?: boolean | undefined;
  /** Base delay between LISTEN reconnect attempts (doubled per failure, capped at 30 s). @default 1000 */
  reconnectInterval?: number | undefined;
  /** HTTP cookie settings. */
  cookie?: SessionCookieOptions | undefined;
  /** Logger. @default a Nest `Logger` with context 'SessionModule' */
  logger?: LoggerService | undefined;
}

/** Extra options of `forRoot` / `forRootAsync` that shape the Nest module itself. */
export interface SessionModuleExtras {
  /** Register the module globally, so feature modules inject its services without importing it. @default true */
  isGlobal?: boolean | undefined;
}
