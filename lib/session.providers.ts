import type { Provider } from '@nestjs/common';
import { SessionCache } from './cache/session.cache.js';
import { SessionHealth } from './health/session-health.service.js';
import { RequireAttributeGuard } from './http/require-attribute.guard.js';
import { SessionCookieService } from './http/session-cookie.service.js';
import { SessionGuard } from './http/session.guard.js';
import { LockService } from './lock/lock.service.js';
import { SessionMetrics } from './metrics/session-metrics.service.js';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATABASE } from './options/internal.tokens.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { resolveSessionOptions } from './options/resolve-options.js';
import type { SessionModuleOptions } from './options/session-module-options.interface.js';
import { SESSION_MODULE_OPTIONS } from './session.module-definition.js';
import { SessionService } from './session/session.service.js';
import { LockStore } from './store/lock.store.js';
import { SessionDatabase } from './store/session.database.js';
import { SessionStore } from './store/session.store.js';
import { CacheInvalidator } from './sync/cache-invalidator.js';
import { SessionNotifications } from './sync/session-notifications.service.js';
import { SessionSync } from './sync/session-sync.service.js';
import { SyncState } from './sync/sync-state.js';
import { ExpiryCleanupWorker } from './workers/expiry-cleanup.worker.js';
import { LastAccessWriter } from './workers/last-access.writer.js';

/** Said when `SessionModule` is imported bare (without forRoot), e.g. in a feature module with `isGlobal: false`. */
const NOT_CONFIGURED =
  'nestjs-pg-session: SessionModule was imported without forRoot(...) or forRootAsync(...), so it has no options. ' +
  'Register SessionModule.forRoot(...) once. With `isGlobal: false`, do it in a shared module that re-exports it ' +
  '(`@Module({ imports: [SessionModule.forRoot(...)], exports: [SessionModule] })`) and import that shared module, ' +
  'not SessionModule itself, in the modules that need its services.';

/**
 * Every provider of `SessionModule`, in one place: what each is built from, and which
 * runs which timer. Lifecycle (Nest orders hooks by dependency depth): on init the
 * last-access writer starts (from `SessionService`), then the cleanup worker, which
 * depends on `SessionService`; on shutdown the worker stops first (waiting for a running
 * pass), then `SessionService` writes the pending accesses, and the database and LISTEN
 * connection close last (`onApplicationShutdown`).
 */
export const sessionProviders: Provider[] = [
  // Options. forRoot/forRootAsync add their own provider of SESSION_MODULE_OPTIONS, which
  // replaces this one (Nest registers a dynamic module's providers after the class's):
  // only a bare import reaches it.
  {
    provide: SESSION_MODULE_OPTIONS,
    useFactory: (): never => {
      throw new Error(NOT_CONFIGURED);
    },
  },
  {
    provide: RESOLVED_SESSION_OPTIONS,
    inject: [SESSION_MODULE_OPTIONS],
    useFactory: (options: SessionModuleOptions) => resolveSessionOptions(options),
  },

  // Database: the pool (or the given DataSource), and the session statements on it.
  {
    provide: SESSION_DATABASE,
    inject: [RESOLVED_SESSION_OPTIONS],
    useFactory: (options: ResolvedSessionOptions) => SessionDatabase.open(options),
  },
  {
    provide: SessionStore,
    inject: [SESSION_DATABASE, CacheInvalidator, RESOLVED_SESSION_OPTIONS],
    useFactory: (db: SessionDatabase, invalidator: CacheInvalidator, options: ResolvedSessionOptions) =>
      new SessionStore(db, invalidator.nodeId, options.inactivityDuration),
  },

  // This node's cache, and what drops entries from it.
  {
    provide: SessionCache,
    inject: [RESOLVED_SESSION_OPTIONS],
    useFactory: (options: ResolvedSessionOptions) =>
      new SessionCache(options.cacheSize, { lifetimeInCache: options.maxSessionLifetimeInCache, inactivity: options.inactivityDuration }),
  },
  {
    provide: CacheInvalidator,
    inject: [SessionCache],
    useFactory: (cache: SessionCache) => new CacheInvalidator(cache),
  },

  // Batched last-access writes (timer started and stopped by SessionService).
  {
    provide: LastAccessWriter,
    inject: [SessionStore, SessionCache, RESOLVED_SESSION_OPTIONS],
    useFactory: (store: SessionStore, cache: SessionCache, options: ResolvedSessionOptions) => {
      const writer = new LastAccessWriter(store, cache, options.lastAccessUpdateBatchSize, options.lastAccessUpdateInterval, options.logger);
      // An entry leaving the cache (evicted, invalidated, cleared) hands its unwritten access to the writer.
      cache.setLeaveListener((entry) => writer.release(entry));
      return writer;
    },
  },

  // Lock statements; a lock's session check uses this node's latest known access.
  {
    provide: LockStore,
    inject: [SESSION_DATABASE, RESOLVED_SESSION_OPTIONS, LastAccessWriter],
    useFactory: (db: SessionDatabase, options: ResolvedSessionOptions, lastAccess: LastAccessWriter) =>
      new LockStore(db, options.inactivityDuration, (id) => lastAccess.latestFor(id) || null),
  },

  // LISTEN connection, resyncs after a gap, and the public change stream.
  SyncState,
  SessionSync,
  SessionNotifications,
  SessionHealth,
  SessionService,
  // The expiry cleanup timer: runs SessionService's cleanup pass; starts and stops itself.
  // Only for the real service: a stand-in (`overrideProvider(SessionService)` in an
  // app's tests) gets no library timer calling into it, as when the worker lived inside
  // SessionService.
  {
    provide: ExpiryCleanupWorker,
    inject: [SessionService, RESOLVED_SESSION_OPTIONS],
    useFactory: (sessions: SessionService, options: ResolvedSessionOptions) =>
      sessions instanceof SessionService
        ? new ExpiryCleanupWorker(() => sessions.cleanupExpiredSessions(), options.cleanupInterval, options.logger)
        : null,
  },
  SessionMetrics,
  LockService,
  SessionCookieService,
  SessionGuard,
  RequireAttributeGuard,
];

/** What `SessionModule` exports to the application (the rest stays inside). */
export const sessionExports = [
  SESSION_MODULE_OPTIONS,
  SessionService,
  SessionNotifications,
  SessionHealth,
  LockService,
  SessionCookieService,
  SessionGuard,
  RequireAttributeGuard,
];
