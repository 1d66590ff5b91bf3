import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Imports `specifier` (resolved through this package's own `exports`) in a fresh
 * process and lists which framework session packages got loaded.
 */
async function loadedBy(specifier: string): Promise<{ loaded: string[]; exported: string[] }> {
  const script = `
    import { createRequire } from 'node:module';
    const mod = await import(${JSON.stringify(specifier)});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const loaded = ['express-session', '@fastify/session'].filter((p) => cache.some((f) => f.includes('/node_modules/' + p + '/')));
    console.log(JSON.stringify({ loaded, exported: Object.keys(mod).sort() }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
  return JSON.parse(stdout.trim()) as { loaded: string[]; exported: string[] };
}

describe('package exports of the framework stores', () => {
  it('importing the package root loads neither express-session nor @fastify/session', async () => {
    const root = await loadedBy('nestjs-pg-session');
    assert.deepEqual(root.loaded, []);
    assert.ok(root.exported.includes('SessionService'));
    assert.ok(!root.exported.includes('ExpressSessionStore'));
  });

  it('nestjs-pg-session/express-session exports the store (and loads express-session)', async () => {
    const sub = await loadedBy('nestjs-pg-session/express-session');
    assert.deepEqual(sub.loaded, ['express-session']);
    assert.ok(sub.exported.includes('ExpressSessionStore'));
  });

  it('nestjs-pg-session/fastify-session exports the store without loading @fastify/session', async () => {
    const sub = await loadedBy('nestjs-pg-session/fastify-session');
    assert.deepEqual(sub.loaded, []);
    assert.ok(sub.exported.includes('FastifySessionStore'));
  });
});
