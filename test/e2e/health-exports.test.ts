import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { useTestDatabase } from '../support/database.js';

const run = promisify(execFile);
const db = useTestDatabase();

/** Optional peers that the package root must never load. */
const OPTIONAL = ['@nestjs/terminus', '@opentelemetry/api'];

/**
 * Imports `specifier` in a fresh process whose module resolution refuses the optional
 * peers (a resolve hook throws for them), and reports its exports or the error.
 */
async function importWithoutOptionalPeers(specifier: string, then = '', attemptsFile = ''): Promise<{ exported?: string[]; error?: string; hits?: number }> {
  // The hook runs on its own thread: it notes each refused specifier in a file.
  const hooks = `
    import { appendFileSync } from 'node:fs';
    const blocked = ${JSON.stringify(OPTIONAL)};
    export async function resolve(specifier, context, next) {
      if (blocked.some((p) => specifier === p || specifier.startsWith(p + '/'))) {
        if (${JSON.stringify(attemptsFile)}) appendFileSync(${JSON.stringify(attemptsFile)}, specifier + '\\n');
        throw new Error('blocked optional peer ' + specifier);
      }
      return next(specifier, context);
    }
  `;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
    try {
      const mod = await import(${JSON.stringify(specifier)});
      const result = { exported: Object.keys(mod).sort() };
      ${then}
      console.log(JSON.stringify(result));
    } catch (err) {
      console.log(JSON.stringify({ error: String(err && err.message) }));
      process.exit(0); // a failed start may leave connections open
    }
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 60_000 });
  return JSON.parse(stdout.trim()) as { exported?: string[]; error?: string; hits?: number };
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

  it('without @opentelemetry/api installed the module starts, serves and closes (it tried the import and went on)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-otel-'));
    const attempts = join(dir, 'attempts.txt');
    try {
      const then = `
        await import('reflect-metadata');
        const { NestFactory } = await import('@nestjs/core');
        const app = await NestFactory.createApplicationContext(
          mod.SessionModule.forRoot({ connectionString: ${JSON.stringify(db.url)}, createSchemaIfMissing: true }),
          { logger: false },
        );
        const sessions = app.get(mod.SessionService);
        const s = await sessions.createSession('no-otel');
        await sessions.getSession(s.id);
        await sessions.getSession(s.id);
        result.hits = sessions.stats().cacheHits;
        await app.close();
      `;
      const out = await importWithoutOptionalPeers('nestjs-pg-session', then, attempts);
      assert.equal(out.error, undefined);
      assert.ok(out.hits! >= 1);
      assert.match(await readFile(attempts, 'utf8'), /@opentelemetry\/api/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
