import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Optional peers that the package root must never load. */
const OPTIONAL = ['@nestjs/terminus', '@opentelemetry/api'];

/**
 * Imports `specifier` in a fresh process whose module resolution refuses the optional
 * peers (a resolve hook throws for them), and reports its exports or the error.
 */
async function importWithoutOptionalPeers(specifier: string): Promise<{ exported?: string[]; error?: string }> {
  const hooks = `
    const blocked = ${JSON.stringify(OPTIONAL)};
    export async function resolve(specifier, context, next) {
      if (blocked.some((p) => specifier === p || specifier.startsWith(p + '/'))) throw new Error('blocked optional peer ' + specifier);
      return next(specifier, context);
    }
  `;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
    try {
      const mod = await import(${JSON.stringify(specifier)});
      console.log(JSON.stringify({ exported: Object.keys(mod).sort() }));
    } catch (err) {
      console.log(JSON.stringify({ error: String(err && err.message) }));
    }
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
  return JSON.parse(stdout.trim()) as { exported?: string[]; error?: string };
}

describe('package exports of the health indicator', () => {
  it('the package root loads neither @nestjs/terminus nor @opentelemetry/api', async () => {
    const root = await importWithoutOptionalPeers('nestjs-pg-session');
    assert.equal(root.error, undefined);
    assert.ok(root.exported!.includes('SessionHealth'));
    assert.ok(!root.exported!.includes('SessionHealthIndicator'));
  });

  it('nestjs-pg-session/terminus needs @nestjs/terminus (the hook really blocks it)', async () => {
    const sub = await importWithoutOptionalPeers('nestjs-pg-session/terminus');
    assert.match(sub.error ?? '', /blocked optional peer @nestjs\/terminus/);
  });
});
