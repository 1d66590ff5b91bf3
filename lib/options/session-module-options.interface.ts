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
   * Where the dedicated LISTEN connection goes, when it must bypass a pooler: a
   * transaction-mode pooler (PgBouncer `pool_mode = transaction`) gives the LISTEN's server
   * connection to other clients, so notifications would be lost. Derived from the main
   * connection when unset; required when the main connection goes through such a pooler
   * (start fails naming this option when the probe of `preparedStatements` finds one).
   */
  listenConnectionString?: string | undefined;
  /**
   * Whether statements are sent as named (server-side, per-connection) prepared statements,
   * which PostgreSQL parses and plans once per connection instead of on every call.
   *
   * - `'auto'`: named, unless a probe at start finds that the main connection goes through a
   *   pooler in transaction mode (its server backend changes between transactions, where a
   *   named statement prepared on one server connection is missing, or already present, on
   *   the next): then unnamed, logged once at start.
   * - `true`: always named. Behind PgBouncer in transaction mode only with PgBouncer >= 1.21
   *   and `max_prepared_statements` > 0 (it then tracks and re-prepares them per server
   *   connection); a direct connection or session pooling needs nothing.
   * - `false`: always unnamed (parsed and planned on every call), for poolers the probe
   *   cannot recognise.
   *
   * Behind a transaction pooler the LISTEN connection must bypass it: when the probe finds
   * one and `listenConnectionString` is unset, start fails with an error naming that option.
   * See docs/pooler.md for configurations and what each choice costs.
   * @default 'auto'
   */
  preparedStatements?: 'auto' | boolean | undefined;
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
