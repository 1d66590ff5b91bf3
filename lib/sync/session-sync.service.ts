import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type pg from 'pg';
import { Observable, Subject } from 'rxjs';
import { SessionCache } from '../cache/session.cache.js';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { RESOLVED_SESSION_OPTIONS, SESSION_DATABASE } from '../options/internal.tokens.js';
import type { SessionDatabase } from '../store/session.database.js';
import { SessionStore } from '../store/session.store.js';
import { CacheInvalidator } from './cache-invalidator.js';
import { ListenConnection } from './listen-connection.js';
import { decodeNotification, ownPayloadTest } from './notification-codec.js';
import type { SessionChange, SyncStatus } from './session-change.js';
import { SyncState } from './sync-state.js';

/** Sessions re-checked per query during a resync. */
const RESYNC_BATCH = 5000;

/**
 * Keeps this node's cache coherent with every other node: applies their
 * invalidations as they arrive on the dedicated LISTEN connection, stops serving
 * from the cache while that connection is down, and re-checks the cache (by
 * version) before serving again.
 */
@Injectable()
export class SessionSync implements OnModuleInit, OnApplicationShutdown {
  private readonly changes = new Subject<SessionChange>();
  private readonly status = new Subject<SyncStatus>();
  private readonly connection: ListenConnection;
  /** Whether a payload is this node's own (skipped unparsed: see ownPayloadTest). */
  private readonly isOwn: (payload: string) => boolean;
  /** Counter of cache-only operations (clear all / a user's cache) when last in sync. */
  private cacheEpoch: string | null = null;

  /** Invalidations from other nodes, after they were applied to the cache. */
  readonly changes$: Observable<SessionChange> = this.changes.asObservable();
  /** LISTEN connection state changes. */
  readonly status$: Observable<SyncStatus> = this.status.asObservable();

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SESSION_DATABASE) db: SessionDatabase,
    private readonly store: SessionStore,
    private readonly cache: SessionCache,
    private readonly invalidator: CacheInvalidator,
    private readonly state: SyncState,
  ) {
    this.isOwn = ownPayloadTest(invalidator.nodeId);
    this.connection = new ListenConnection(
      {
        client: listenClientConfig(options, db),
        channel: `"${db.tables.channel}"`,
        reconnectInterval: options.reconnectInterval,
      },
      {
        onNotification: (payload) => this.receive(payload),
        onDown: (reason) => this.down(reason),
        onRecovered: () => this.resync(),
      },
    );
  }

  /** Backend pid of the LISTEN connection (diagnostics and tests). */
  get listenerPid(): number | undefined {
    return this.connection.backendPid;
  }

  async onModuleInit(): Promise<void> {
    this.cache.setServing(false);
    try {
      await this.connection.start();
    } catch (err) {
      throw new Error(
        `nestjs-pg-session: could not open the dedicated LISTEN connection (${err instanceof Error ? err.message : String(err)}). ` +
          'If the main connection goes through a pooler such as PgBouncer in transaction mode, set listenConnectionString to a direct connection.',
        { cause: err },
      );
    }
    this.cacheEpoch = await this.store.cacheEpoch();
    this.cache.setServing(true);
    this.state.listening = true;
    this.status.next('listening');
  }

  async onApplicationShutdown(): Promise<void> {
    this.state.listening = false;
    this.cache.setServing(false);
    await this.connection.stop();
    this.changes.complete();
    this.status.complete();
  }

  private receive(payload: string | undefined): void {
    if (payload !== undefined && this.isOwn(payload)) return;
    const decoded = decodeNotification(payload);
    if (typeof decoded === 'string') {
      // Not the payload itself: a notification carries whole session ids.
      this.options.logger.warn(`Ignored a malformed session notification (${decoded}; ${String(payload ?? '').length} characters on this deployment's channel): check what else notifies on it.`);
      return;
    }
    if (decoded.nodeId === this.invalidator.nodeId) return;
    this.invalidator.apply(decoded.change);
    this.state.notificationsReceived++;
    this.changes.next(decoded.change);
  }

  private down(reason: unknown): void {
    this.cache.setServing(false);
    if (!this.state.listening) return;
    this.state.listening = false;
    this.state.downSince = Date.now();
    // Logged once per outage (not per retry: the guard above holds until a resync completes).
    this.options.logger.warn(
      `Session LISTEN connection lost; serving sessions from the database (no cache) and reconnecting until it is back. ` +
        `If this lasts, check that PostgreSQL is reachable: ${String(reason)}`,
    );
    this.status.next('reconnecting');
  }

  /**
   * Runs once LISTEN is active again, so nothing committed from now on is missed.
   * Drops every cached session whose stored version differs (or that is gone), and
   * the whole cache if a cache-only clear happened meanwhile.
   */
  private async resync(): Promise<void> {
    // Everything below is valid only if LISTEN stays up on this very connection.
    const generation = this.connection.generation;
    this.state.resyncing = true;
    try {
      await this.recheck(generation);
    } finally {
      this.state.resyncing = false;
    }
  }

  private async recheck(generation: number): Promise<void> {
    const epoch = await this.store.cacheEpoch();
    if (epoch !== this.cacheEpoch) this.cache.clear();
    const cached = this.cache.versions();
    for (let i = 0; i < cached.length; i += RESYNC_BATCH) {
      const batch = cached.slice(i, i + RESYNC_BATCH);
      const stored = await this.store.versions(batch.map(([id]) => id));
      for (const [id] of batch) this.cache.dropIfVersion(id, stored.get(id));
    }
    if (!this.connection.isUp || this.connection.generation !== generation) throw new Error('LISTEN connection lost during resync');
    this.cacheEpoch = epoch;
    this.cache.setServing(true);
    this.state.listening = true;
    this.state.resyncs++;
    const outage = this.state.downSince === null ? '' : ` after ${((Date.now() - this.state.downSince) / 1000).toFixed(1)} s`;
    this.state.downSince = null;
    this.options.logger.log?.(`Session LISTEN connection restored${outage}; cache re-checked (${cached.length} entries), serving from the cache again.`);
    this.status.next('resynced');
  }
}

/** Settings of the dedicated LISTEN client: `listenConnectionString`, else those of the pool. */
function listenClientConfig(options: ResolvedSessionOptions, db: SessionDatabase): pg.ClientConfig {
  if (options.listenConnectionString) return { connectionString: options.listenConnectionString, application_name: 'nestjs-pg-session listener' };
  const p = db.poolOptions as pg.PoolConfig;
  return {
    connectionString: p.connectionString,
    host: p.host,
    port: p.port,
    user: p.user,
    password: p.password,
    database: p.database,
    ssl: p.ssl,
    connectionTimeoutMillis: p.connectionTimeoutMillis ?? 10_000,
    application_name: 'nestjs-pg-session listener',
  };
}
