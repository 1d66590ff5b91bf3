// Runs every compiled test file (build/test/**/*.test.js) with node's test runner:
// test/unit/ (no database) and test/e2e/ (real PostgreSQL; DATABASE_URL set, see
// scripts/with-postgres.mjs). Each file runs in its own process and creates its own database.
// Usage: node scripts/run-tests.mjs [substring filter...]   e.g. `test/unit/`, `multi-node`
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

/**
 * Whether the compiled file still has its source: tsc never deletes outputs, so a test
 * moved or removed would otherwise keep running from a stale build/ (build/test/x.test.js
 * comes from test/x.test.ts).
 */
const hasSource = (file) => existsSync(file.replace(/^build[\\/]/, '').replace(/\.js$/, '.ts'));

const filters = process.argv.slice(2);
const files = find('build/test')
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under build/test (did the build run?)');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
