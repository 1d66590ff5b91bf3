import pg, { type Pool, type PoolClient, type QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { isStatementError, notCommitted } from './commit-outcome.js';
import { detectTransactionPooler } from './pooler-detection.js';
import { CHECK_SCHEMA_SQL, createSchemaStatements, DDL_LOCK_SQL } from './schema.sql.js';
import { TableNames } from './table-names.js';

/** A statement with an optional prepared-statement name (reused per connection). */
export interface Statement {
  readonly name?: string;
  readonly text: string;
}

/**
 * The `pg` query config of a statement: named only when named statements are on, so that
 * behind a transaction pooler every statement is an unnamed one (parsed, bound and run
 * in one round trip, never left on a server connection for the next client to trip on).
 */
function queryConfig(statement: Statement | string, values: unknown[] | undefined, named: boolean) {
  if (typeof statement === 'string') return { text: statement, values };
  return named ? { name: statement.name, text: statement.text, values } : { text: statement.text, values };
}

/**
 * The module's access to PostgreSQL: the `pg` pool behind a TypeORM `DataSource`
 * (its own, or the user's), used directly so hot statements skip TypeORM's layers.
 */
export class SessionDatabase {
  private closed = false;
  /** The health ping in flight, shared by concurrent checks. */
  private pinging: Promise<void> | undefined;
  /** Whether statements go as named prepared statements (see the `preparedStatements` option). */
  private named = true;

  private constructor(
    readonly dataSource: DataSource,
    private readonly pool: Pool,
    private readonly ownsDataSource: boolean,
    readonly tables: TableNames,
  ) {}

  /** Connects (or adopts the given DataSource) and checks or creates the schema. */
  static async open(options: ResolvedSessionOptions): Promise<SessionDatabase> {
    const tables = new TableNames(options.schemaName, options.tablePrefix);
    let dataSource: DataSource;
    let owns = false;
    if (options.dataSource) {
      dataSource = options.dataSource;
      if (!dataSource.isInitialized) {
        throw new Error('nestjs-pg-session: option "dataSource" must be an initialised DataSource (call dataSource.initialize() first, or let @nestjs/typeorm do it).');
      }
    } else {
      dataSource = new DataSource({ type: 'postgres', url: options.connectionString, poolSize: 10 });
      await dataSource.initialize();
      owns = true;
    }
    const pool = (dataSource.driver as unknown as { master?: Pool }).master;
    if (!pool || typeof pool.query !== 'function') {
      if (owns) await dataSource.destroy();
      throw new Error('nestjs-pg-session: option "dataSource" must use the "postgres" driver (node-postgres pool not found).');
    }
    const db = new SessionDatabase(dataSource, pool, owns, tables);
    try {
      await db.choosePreparedStatements(options);
      if (options.createSchemaIfMissing) await db.createSchema();
      else await db.assertSchema();
    } catch (err) {
      await db.close();
      throw err;
    }
    return db;
  }

  /** Whether statements go as named prepared statements (after the start probe). */
  get namedStatements(): boolean {
    return this.named;
  }

  /** Connection settings of the pool, to derive the dedicated LISTEN connection from. */
  get poolOptions(): Pool['options'] {
    return this.pool.options;
  }

  /**
   * Runs one statement on any pooled connection and returns its rows. A failure to get
   * a connection is marked as certainly not committed (see `commit-outcome.ts`), so a
   * caller can tell it from a connection lost after the statement was sent.
   */
  async query<R extends QueryResultRow = QueryResultRow>(statement: Statement | string, values?: unknown[]): Promise<R[]> {
    const config = queryConfig(statement, values, this.named);
    return this.withClient(async (client, markBroken) => {
      try {
        return (await client.query<R>(config)).rows;
      } catch (err) {
        // A statement PostgreSQL refused leaves a fine connection; anything else does not.
        if (!isStatementError(err)) markBroken(err);
        throw err;
      }
    });
  }

  /**
   * Lends `use` a pooled connection. A failure to get one is marked as certainly not
   * committed. A connection marked broken (or that emitted 'error') is destroyed, not
   * returned to the pool.
   */
  private async withClient<T>(use: (client: PoolClient, markBroken: (err: unknown) => void) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw notCommitted(err);
    }
    let broken: unknown;
    const markBroken = (err: unknown) => {
      broken ??= err;
    };
    // A checked-out client has no error listener; without one, a connection the server
    // drops while it is lent out would emit an unhandled 'error' and crash the process.
    client.on('error', markBroken);
    try {
      return await use(client, markBroken);
    } finally {
      client.removeListener('error', markBroken);
      client.release(broken === undefined ? undefined : broken instanceof Error ? broken : new Error(String(broken)));
    }
  }

  /**
   * Checks that PostgreSQL answers a trivial query within `timeoutMs` (for health checks).
   * Rejects with the reason otherwise; a query still running at the timeout is left to
   * finish or fail on its own.
   */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const busy = this.pool.waitingCount > 0 || (this.pool.idleCount === 0 && this.pool.totalCount >= (this.pool.options.max ?? 10));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${timeoutMs} ms${busy ? ' (every pooled connection was busy: the pool, not the database, may be the bottleneck)' : ''}`)),
        timeoutMs,
      );
    });
    // One ping at a time: health checks that time out on a saturated pool must not pile up in its queue.
    this.pinging ??= this.query('SELECT 1').then(() => undefined).finally(() => {
      this.pinging = undefined;
    });
    const query = this.pinging;
    // The query may fail after the timeout won: that late rejection is not an unhandled one.
    query.catch(() => undefined);
    try {
      await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `fn` in one transaction on one connection; rolls back when it throws.
   * `begin` is the statement that opens it (it may also set transaction-local settings).
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.withClient(async (client, markBroken) => {
      let committing = false;
      try {
        await client.query(begin);
        const result = await fn(new Transaction(client, this.named));
        committing = true;
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (!committing) {
          // COMMIT was never sent: whatever happened, the server rolls the transaction back.
          notCommitted(err);
          // A connection that cannot roll back is unusable.
          await client.query('ROLLBACK').catch(markBroken);
        } else if (!isStatementError(err)) {
          markBroken(err); // lost during COMMIT: the outcome is unknown, and the connection is unusable
        }
        throw err;
      }
    });
  }


  /** Nest shutdown hook: runs after every provider that uses the database has stopped. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** Destroys the DataSource only when the module created it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDataSource && this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /**
   * Resolves `preparedStatements`, probing for a transaction pooler when `'auto'` needs the
   * answer or when the LISTEN connection would be derived from the main one.
   * @throws Error naming `listenConnectionString` when the main connection goes through a
   *   transaction pooler and no direct LISTEN connection was given.
   */
  private async choosePreparedStatements(options: ResolvedSessionOptions): Promise<void> {
    if (options.listenConnectionString !== undefined) await assertListenIsDirect(options.listenConnectionString);
    const mode = options.preparedStatements;
    if (mode !== 'auto' && options.listenConnectionString !== undefined) {
      this.named = mode;
      return;
    }
    const pooled = await detectTransactionPooler(this.pool);
    if (pooled && options.listenConnectionString === undefined) {
      throw new Error(
        'nestjs-pg-session: the main connection goes through a pooler in transaction mode (its server backend changes ' +
          'between transactions), where LISTEN would miss notifications: set option "listenConnectionString" to a direct ' +
          'connection to PostgreSQL (see docs/pooler.md).',
      );
    }
    this.named = mode === 'auto' ? !pooled : mode;
    if (pooled && mode === 'auto') {
      options.logger.log?.(
        'The main connection goes through a pooler in transaction mode: using unnamed statements ' +
          '(with PgBouncer >= 1.21 and max_prepared_statements > 0, set preparedStatements: true to keep named ones).',
      );
    }
  }

  private async createSchema(): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.query(DDL_LOCK_SQL);
      for (const ddl of createSchemaStatements(this.tables)) await tx.query(ddl);
    });
  }

  private async assertSchema(): Promise<void> {
    const t = this.tables;
    const [row] = await this.query<Record<string, string | null>>(CHECK_SCHEMA_SQL, [
      t.sessionsRegclass,
      t.attributesRegclass,
      t.locksRegclass,
      t.cacheEpoch,
    ]);
    const missing = Object.entries(row ?? {}).filter(([, v]) => v === null).map(([k]) => k);
    if (missing.length > 0) {
      throw new Error(
        `nestjs-pg-session: the session tables are missing in ${t.describe()} (missing: ${missing.join(', ')}). ` +
          'Set createSchemaIfMissing: true, or run the exported migration (createSessionSchemaMigration) first.',
      );
    }
  }
}

/** One connection inside {@link SessionDatabase.transaction}. */
export class Transaction {
  constructor(
    private readonly client: PoolClient,
    private readonly named: boolean,
  ) {}

  async query<R extends QueryResultRow = QueryResultRow>(statement: Statement | string, values?: unknown[]): Promise<R[]> {
    const result = await this.client.query<R>(queryConfig(statement, values, this.named));
    return result.rows;
  }
}

/**
 * Fails when `listenConnectionString` itself goes through a transaction pooler: LISTEN
 * there raises no error, it just stops hearing notifications once its server
 * connection is handed to another client, and the node would serve stale sessions.
 */
async function assertListenIsDirect(url: string): Promise<void> {
  const probe = new pg.Pool({ connectionString: url, max: 2, application_name: 'nestjs-pg-session probe' });
  probe.on('error', () => undefined); // an idle probe connection dropped by the server
  try {
    // Unreachable: the LISTEN connection's own start reports that, naming the option.
    const pooled = await detectTransactionPooler(probe).catch(() => false);
    if (pooled) {
      throw new Error(
        'nestjs-pg-session: option "listenConnectionString" goes through a pooler in transaction mode (its server backend ' +
          'changes between transactions), where LISTEN silently misses notifications: point it at PostgreSQL directly ' +
          '(see docs/pooler.md).',
      );
    }
  } finally {
    await probe.end();
  }
}
