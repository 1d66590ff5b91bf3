import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/** A PostgreSQL server of a test's own, which the test may stop and start again. */
export interface OwnServer {
  readonly url: string;
  /** Stops the server, keeping its data. */
  pause(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one statement on a short-lived connection (nothing stays open between calls). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
}

/** Starts a separate embedded PostgreSQL (for outage tests that must not disturb other files). */
export async function startOwnServer(): Promise<OwnServer> {
  const module = (await import(pathToFileURL(resolve(process.cwd(), 'scripts/embedded-postgres.mjs')).href)) as {
    startEmbeddedPostgres: () => Promise<Omit<OwnServer, 'query'>>;
  };
  const server = await module.startEmbeddedPostgres();
  return {
    ...server,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        return (await client.query<R>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
  };
}
