import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/** A PgBouncer of a test's own, in front of the test run's server. */
export interface Pgbouncer {
  readonly port: number;
  /** URL of `database` through PgBouncer (same user and password as the server). */
  url(database: string): string;
  /** URL of PgBouncer's admin console (`SHOW`, `KILL`, `RECONNECT`, `PAUSE`, `RESUME`). */
  readonly adminUrl: string;
  /** PgBouncer's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer (installing Debian's package when missing, see scripts/pgbouncer.mjs)
 * in front of `serverUrl`. Rejects with how to install it when it cannot be installed.
 */
export async function startPgbouncer(serverUrl: string, options: { poolMode?: 'transaction' | 'session'; poolSize?: number; extra?: Record<string, string | number> } = {}): Promise<Pgbouncer> {
  const module = (await import(pathToFileURL(resolve(process.cwd(), 'scripts/pgbouncer.mjs')).href)) as {
    startPgbouncer: (o: { serverUrl: string; poolMode?: string; poolSize?: number; extra?: Record<string, string | number> }) => Promise<Pgbouncer>;
  };
  return module.startPgbouncer({ serverUrl, ...options });
}

/** Runs one command on PgBouncer's admin console (simple protocol only) and returns its rows. */
export async function adminCommand(bouncer: Pgbouncer, command: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: bouncer.adminUrl });
  await client.connect();
  try {
    return (await client.query(command)).rows;
  } finally {
    await client.end();
  }
}
