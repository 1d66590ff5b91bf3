import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before } from 'node:test';
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

/**
 * A server of the suite's own: started in a `before` hook, stopped in an `after` hook
 * (register any handle check after this call, so it runs once the server is down). Use
 * it inside tests and hooks only.
 */
export function useOwnServer(): OwnServer {
  let server: OwnServer | undefined;
  before(async () => {
    server = await startOwnServer();
  });
  after(async () => {
    await server?.stop();
  });
  const current = (): OwnServer => {
    if (!server) throw new Error('The server is started in a before hook; use it inside tests and hooks.');
    return server;
  };
  return {
    get url() { return current().url; },
    pause: () => current().pause(),
    start: () => current().start(),
    stop: () => current().stop(),
    query: (text, values) => current().query(text, values),
  };
}
