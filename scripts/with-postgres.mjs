// Usage: node scripts/with-postgres.mjs <command> [args...]
// Runs the command with DATABASE_URL pointing at a real PostgreSQL: the one in
// DATABASE_URL when set, otherwise a fresh embedded server started (and removed) here.
import { spawn } from 'node:child_process';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-postgres.mjs <command> [args...]');
  process.exit(2);
}

let server;
if (!process.env.DATABASE_URL) {
  process.stderr.write('DATABASE_URL is unset: starting an embedded PostgreSQL...\n');
  server = await startEmbeddedPostgres();
  process.stderr.write(`embedded PostgreSQL ready at ${server.url}\n`);
}

const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? server.url },
});
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);

const code = await new Promise((resolve) => {
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
if (server) await server.stop();
process.exit(code);
