// Runs a throw-away PgBouncer in front of a PostgreSQL server, for the pooler tests.
//   node scripts/pgbouncer.mjs --install   installs Debian's pgbouncer when missing (CI does this up front)
// Tests import startPgbouncer(), which also installs on demand, and fail with a message
// saying how to install it when that is not possible (never a silent skip).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './embedded-postgres.mjs';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer', '/usr/local/sbin/pgbouncer'];
const HOW_TO_INSTALL = 'install PgBouncer first: `apt-get update && apt-get install -y pgbouncer` as root (Debian/Ubuntu), ' +
  'or put a pgbouncer binary on PATH; CI runs `node scripts/pgbouncer.mjs --install`';

function findBinary() {
  const onPath = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  return CANDIDATES.find((p) => existsSync(p));
}

function run(command, args) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 300_000, // a hung mirror fails CI with a message instead of eating its time
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim().split('\n').slice(-10).join('\n');
    throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${result.status}):\n${output}`);
  }
}

/**
 * Path of the pgbouncer binary, installing Debian's package when it is missing and we are
 * root with apt-get. Idempotent.
 * @returns {string}
 */
export function ensurePgbouncer() {
  const found = findBinary();
  if (found) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (!root || !apt) {
    throw new Error(`pgbouncer is not installed and cannot be installed from here (${root ? 'no apt-get' : 'not root'}): ${HOW_TO_INSTALL}.`);
  }
  try {
    // Wait for another apt or dpkg run to finish instead of failing at once on its lock.
    const lock = ['-o', 'DPkg::Lock::Timeout=120'];
    run('apt-get', [...lock, 'update']);
    run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', 'pgbouncer']);
  } catch (err) {
    throw new Error(`could not install pgbouncer (${err.message}): ${HOW_TO_INSTALL}.`);
  }
  const installed = findBinary();
  if (!installed) throw new Error(`apt-get installed pgbouncer but no binary was found: ${HOW_TO_INSTALL}.`);
  return installed;
}

/** PgBouncer refuses to run as root: as root, run it as the `postgres` OS user (created by embedded-postgres) or `nobody`. */
function unprivilegedUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    if (line) {
      const [, , uid, gid] = line.split(':');
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error('no unprivileged OS user (postgres or nobody) to run pgbouncer as');
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => { socket.destroy(); resolve(false); });
  });
}

const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

/**
 * Starts PgBouncer in front of the server of `serverUrl` (every database, `*`), on a free
 * loopback port, with its config, auth file and log in a new temp folder.
 * @param {{ serverUrl: string, poolMode?: 'transaction' | 'session' | 'statement', poolSize?: number, extra?: Record<string, string | number> }} options
 * @returns {Promise<{ port: number, url: (database: string) => string, adminUrl: string, log: () => string, stop: () => Promise<void> }>}
 */
export async function startPgbouncer({ serverUrl, poolMode = 'transaction', poolSize = 20, extra = {} }) {
  const binary = ensurePgbouncer();
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-pg-session-pgbouncer-'));
  chmodSync(dir, 0o777); // pgbouncer (unprivileged) writes its log and pid file here
  const settings = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: join(dir, 'userlist.txt'),
    admin_users: user,
    pool_mode: poolMode,
    default_pool_size: poolSize,
    max_client_conn: 1000,
    logfile: join(dir, 'pgbouncer.log'),
    pidfile: join(dir, 'pgbouncer.pid'),
    ...extra,
  };
  const ini = [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432}`,
    '',
    '[pgbouncer]',
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'pgbouncer.ini'), ini, { mode: 0o644 });
  // A plain-text password lets PgBouncer authenticate clients with SCRAM and log in to the server.
  writeFileSync(settings.auth_file, `"${user}" "${password}"\n`, { mode: 0o644 });

  const log = () => (existsSync(settings.logfile) ? readFileSync(settings.logfile, 'utf8') : '');
  const child = spawn(binary, [join(dir, 'pgbouncer.ini')], { ...unprivilegedUser(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = true; resolve(code ?? signal); }));
  // A spawn failure (binary not executable by that user…) arrives as 'error', not 'exit'.
  child.once('error', (err) => { stderr += String(err); exited = true; });

  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      const why = `${stderr}\n${log()}`.trim().split('\n').slice(-15).join('\n');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start on port ${port}:\n${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const url = (database) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopped = false;
  return {
    port,
    url,
    adminUrl: url('pgbouncer'),
    log,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // SIGTERM: immediate shutdown up to PgBouncer 1.22; later versions wait for clients, hence the fallback.
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href && process.argv.includes('--install')) {
  try {
    process.stdout.write(`pgbouncer: ${ensurePgbouncer()}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
