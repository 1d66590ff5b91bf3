import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A PostgreSQL server of a test's own, which the test may stop and start again. */
export interface OwnServer {
  readonly url: string;
  /** Stops the server, keeping its data. */
  pause(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a separate embedded PostgreSQL (for outage tests that must not disturb other files). */
export async function startOwnServer(): Promise<OwnServer> {
  const module = (await import(pathToFileURL(resolve(process.cwd(), 'scripts/embedded-postgres.mjs')).href)) as {
    startEmbeddedPostgres: () => Promise<OwnServer>;
  };
  return module.startEmbeddedPostgres();
}
