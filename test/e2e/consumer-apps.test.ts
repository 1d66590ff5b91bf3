// The package as a user gets it: `npm pack`, installed with its peers into two fresh
// apps (one ESM, one CommonJS), each built with strict tsc, started against a real
// database and driven over HTTP through login -> @Session() -> logout. This is where a
// missing export condition, a type that does not compile in the user's settings, or a
// file left out of the tarball shows up.
//
// Installs use npm's cache first (`--prefer-offline`: `npm ci` of this project filled it
// with the same versions); only what the project does not use (typeorm 0.3) comes from
// the registry the first time.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useTestDatabase } from '../support/database.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The version of a package this project installed, so the apps get what npm's cache holds. */
const installed = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
/** The oldest typeorm the peer range admits; the CommonJS app runs on it (the suite runs on 1.x). */
const TYPEORM_03 = '0.3.20';

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command to its end (killed after `timeoutMs`), with npm's own variables of an outer `npm test` removed. */
function run(command: string, args: string[], cwd: string, timeoutMs: number, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

async function mustRun(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  const result = await run(command, args, cwd, timeoutMs);
  assert.equal(result.code, 0, `${command} ${args.join(' ')} failed in ${cwd}:\n${result.output}`);
}

/** The code both apps share: options from a factory class, a typed session, login / me / logout. */
function appSource(moduleImports: string, sessionModule: string): string {
  return `import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Body, Controller, Get, HttpCode, Inject, Injectable, Module, Post, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  SESSION_MODULE_OPTIONS,
  Session,
  SessionCookieService,
  SessionModule,
  SessionService,
  type SessionModuleOptions,
  type SessionModuleOptionsFactory,
} from 'nestjs-pg-session';
${moduleImports}

type AppAttributes = { name: string; visits: number };

@Injectable()
export class SessionConfig implements SessionModuleOptionsFactory {
  createSessionOptions(): SessionModuleOptions {
    return {
      connectionString: process.env.DATABASE_URL,
      schemaName: process.env.SESSION_SCHEMA,
      createSchemaIfMissing: true,
      cookie: { secrets: ['consumer-app-secret'], secure: false },
    };
  }
}

@Controller()
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookieService,
    @Inject(SESSION_MODULE_OPTIONS) private readonly options: SessionModuleOptions,
  ) {}

  @Post('login')
  async login(@Body() body: { user?: unknown }, @Res({ passthrough: true }) res: unknown) {
    const user = String(body.user);
    const session = await this.sessions.createSession<AppAttributes>(user, { name: { value: user }, visits: { value: 0 } });
    this.cookies.set(res, session);
    return { schema: this.options.schemaName ?? 'public' };
  }

  @Get('me')
  me(@Session() session: Session<AppAttributes>) {
    return { userId: session.userId, name: session.getAttribute('name'), visits: session.getAttribute('visits') };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Session() session: Session, @Res({ passthrough: true }) res: unknown): Promise<void> {
    await this.sessions.deleteSession(session.id);
    this.cookies.clear(res);
  }
}

@Module({ imports: [${sessionModule}], controllers: [AuthController] })
export class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  // No enableShutdownHooks: the process must end by itself once app.close() returns.
  process.once('SIGTERM', () => void app.close());
  console.log('LISTENING ' + (app.getHttpServer().address() as AddressInfo).port);
}
void main();
`;
}

interface AppSpec {
  dir: string;
  packageType: 'module' | 'commonjs';
  compilerOptions: Record<string, unknown>;
  dependencies: Record<string, string>;
  source: string;
}

function writeApp(spec: AppSpec, tarball: string): void {
  mkdirSync(join(spec.dir, 'src'), { recursive: true });
  writeFileSync(
    join(spec.dir, 'package.json'),
    JSON.stringify({ name: 'consumer-app', private: true, type: spec.packageType, dependencies: { 'nestjs-pg-session': `file:${tarball}`, ...spec.dependencies } }, null, 2),
  );
  writeFileSync(
    join(spec.dir, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          rootDir: 'src',
          outDir: 'dist',
          types: ['node'],
          ...spec.compilerOptions,
        },
        include: ['src'],
      },
      null,
      2,
    ),
  );
  writeFileSync(join(spec.dir, 'src', 'main.ts'), spec.source);
}

/** Starts the built app; resolves with its port once it listens. */
function startApp(dir: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the app did not listen within 60 s:\n${output}`));
    }, 60_000);
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      output += c;
      const match = /LISTENING (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, port: Number(match[1]), output: () => output });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code}) before listening:\n${output}`));
    });
  });
}

/** login -> @Session() -> logout over HTTP, then SIGTERM: the app must end by itself. */
async function driveApp(dir: string, env: Record<string, string>, schema: string): Promise<void> {
  const { child, port, output } = await startApp(dir, env);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice' }) });
    assert.equal(login.status, 201, output());
    assert.deepEqual(await login.json(), { schema });
    const setCookie = login.headers.get('set-cookie') ?? '';
    const cookie = /^(session_id=[^;]+)/.exec(setCookie)?.[1];
    assert.ok(cookie !== undefined && /^session_id=[0-9a-f-]{36}\.[\w-]{43}$/.test(cookie), `a signed session cookie, got ${setCookie}`);

    const me = await fetch(`${url}/me`, { headers: { cookie } });
    assert.equal(me.status, 200, output());
    assert.deepEqual(await me.json(), { userId: 'alice', name: 'alice', visits: 0 });
    assert.equal((await fetch(`${url}/me`)).status, 401);

    const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } });
    assert.equal(logout.status, 204, output());
    assert.match(logout.headers.get('set-cookie') ?? '', /^session_id=;.*Max-Age=0/);
    assert.equal((await fetch(`${url}/me`, { headers: { cookie } })).status, 401);
  } finally {
    child.kill('SIGTERM');
  }
  const timeout = new Promise<'timeout'>((r) => {
    setTimeout(() => r('timeout'), 30_000).unref();
  });
  const code = await Promise.race([exited, timeout]);
  if (code === 'timeout') child.kill('SIGKILL');
  assert.equal(code, 0, `the app must end by itself after app.close():\n${output()}`);
}

describe('the packed package in fresh ESM and CommonJS apps', () => {
  const db = useTestDatabase();
  let work: string;
  let esmDir: string;
  let cjsDir: string;
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'nestjs-pg-session-consumers-'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', work], root, 120_000);
    assert.equal(pack.code, 0, pack.output);
    const [{ filename }] = JSON.parse(pack.output.slice(pack.output.indexOf('['))) as Array<{ filename: string }>;
    const tarball = join(work, filename);
    const common = {
      '@nestjs/common': installed('@nestjs/common'),
      '@nestjs/core': installed('@nestjs/core'),
      '@nestjs/platform-express': installed('@nestjs/platform-express'),
      pg: installed('pg'),
      rxjs: installed('rxjs'),
      'reflect-metadata': installed('reflect-metadata'),
      '@types/node': installed('@types/node'),
      '@types/pg': installed('@types/pg'),
    };
    esmDir = join(work, 'esm-app');
    writeApp(
      {
        dir: esmDir,
        packageType: 'module',
        // What `nest new` gives an ESM app, made stricter.
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: true },
        dependencies: { ...common, typeorm: installed('typeorm') },
        source: appSource('', 'SessionModule.forRootAsync({ useClass: SessionConfig })'),
      },
      tarball,
    );
    cjsDir = join(work, 'cjs-app');
    writeApp(
      {
        dir: cjsDir,
        packageType: 'commonjs',
        // A classic CommonJS Nest app; every .d.ts checked (skipLibCheck off), typeorm 0.3 through @nestjs/typeorm.
        compilerOptions: { module: 'commonjs', esModuleInterop: true, skipLibCheck: false },
        dependencies: { ...common, typeorm: TYPEORM_03, '@nestjs/typeorm': installed('@nestjs/typeorm') },
        source: appSource(
          `import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';`,
          `TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL }),
    SessionModule.forRootAsync({
      inject: [getDataSourceToken()],
      useFactory: (dataSource: DataSource) => ({
        dataSource,
        schemaName: process.env.SESSION_SCHEMA,
        createSchemaIfMissing: true,
        cookie: { secrets: ['consumer-app-secret'], secure: false },
      }),
    })`,
        ),
      },
      tarball,
    );
    // Both installs at once: they share npm's cache, and each waits mostly on I/O.
    const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
    await Promise.all([mustRun('npm', install, esmDir, 300_000), mustRun('npm', install, cjsDir, 300_000)]);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('both apps resolve the framework-store subpaths from the tarball (import and require)', async () => {
    const check = `
      const { createRequire } = require('node:module');
      const r = createRequire(process.cwd() + '/');
      for (const sub of ['express-session', 'fastify-session']) {
        const path = r.resolve('nestjs-pg-session/' + sub);
        if (!path.endsWith('/dist/' + sub + '.js')) throw new Error(sub + ' resolved to ' + path);
      }`;
    for (const dir of [esmDir, cjsDir]) await mustRun(process.execPath, ['-e', check], dir, 30_000);
  });

  it('ESM app (typeorm 1.x, forRootAsync useClass, exactOptionalPropertyTypes): builds with strict tsc and serves login, @Session(), logout', async () => {
    await mustRun(process.execPath, [tsc, '-p', esmDir], esmDir, 120_000);
    await driveApp(esmDir, { DATABASE_URL: db.url, SESSION_SCHEMA: 'esm_app' }, 'esm_app');
  });

  it(`CommonJS app (typeorm ${TYPEORM_03} through @nestjs/typeorm, skipLibCheck off): builds, require()s the package and serves the same round`, async () => {
    await mustRun(process.execPath, [tsc, '-p', cjsDir], cjsDir, 120_000);
    assert.match(readFileSync(join(cjsDir, 'dist', 'main.js'), 'utf8'), /require\("nestjs-pg-session"\)/);
    await driveApp(cjsDir, { DATABASE_URL: db.url, SESSION_SCHEMA: 'cjs_app' }, 'cjs_app');
  });
});
