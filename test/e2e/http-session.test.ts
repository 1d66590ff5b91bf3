import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Body, Controller, ForbiddenException, Get, HttpCode, Injectable, Post, Res, UseGuards,
} from '@nestjs/common';
import {
  HmacSigner,
  RequireAttribute,
  RequireAttributeGuard,
  type AttributeRequirement,
  Session,
  SessionCookieService,
  SessionGuard,
  SessionModule,
  SessionNotifications,
  SessionService,
  type SessionCookieOptions,
} from '../../lib/index.js';
import { CookieJar, type SetCookie } from '../support/cookie-jar.js';
import { useTestDatabase } from '../support/database.js';
import { heardChange, PLATFORMS, startHttpApp, type ListeningApp, type Platform } from '../support/http-apps.js';
import { HttpClient } from '../support/http-client.js';
import { RecordingLogger } from '../support/nodes.js';
import { waitUntilPast } from '../support/wait.js';

const OLD_SECRET = 'old-secret-0123456789abcdef0123456789';
const NEW_SECRET = 'new-secret-0123456789abcdef0123456789';
const SIGNED_COOKIE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;
const THIRTY_DAYS_S = 30 * 24 * 3600;

/** 403 unless the session belongs to a group: shows a subclassed guard. */
@Injectable()
class GroupSessionGuard extends SessionGuard {
  protected override canActivateSession(session: Session): boolean {
    return session.groupId !== null;
  }
}

/** Answers a failed requirement with a body that tells the client what to do: shows a subclassed RequireAttributeGuard. */
@Injectable()
class StepUpGuard extends RequireAttributeGuard {
  protected override throwForbidden(requirement: AttributeRequirement): never {
    throw new ForbiddenException({ message: 'Step-up required', stepUp: '/step-up', attribute: requirement.key });
  }
}

@UseGuards(StepUpGuard)
@Controller('vault')
class VaultController {
  @Get()
  @RequireAttribute('elevated')
  open(): { ok: true } {
    return { ok: true };
  }
}

@Controller()
class TestController {
  constructor(
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookieService,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { userId: string; groupId?: string }, @Res({ passthrough: true }) res: unknown): Promise<{ id: string }> {
    const session = await this.sessions.createSession(body.userId, {}, body.groupId === undefined ? {} : { groupId: body.groupId });
    this.cookies.set(res, session);
    return { id: session.id };
  }

  /** Sets an unrelated cookie first: ours must be appended, not replace it. */
  @Post('login-with-theme')
  @HttpCode(200)
  async loginWithTheme(@Body() body: { userId: string }, @Res({ passthrough: true }) res: any): Promise<{ id: string }> {
    if (typeof res.header === 'function' && 'raw' in res) res.header('set-cookie', 'theme=dark; Path=/');
    else res.setHeader('Set-Cookie', 'theme=dark; Path=/');
    const session = await this.sessions.createSession(body.userId);
    this.cookies.set(res, session);
    return { id: session.id };
  }

  @Get('me')
  me(@Session() session: Session): { id: string; userId: string; fromCache: boolean } {
    return { id: session.id, userId: session.userId, fromCache: session.fromCache };
  }

  @Get('maybe')
  maybe(@Session({ optional: true }) session: Session | undefined): { id: string | null } {
    return { id: session?.id ?? null };
  }

  @Get('public')
  open(): { ok: true } {
    return { ok: true };
  }

  @Get('guarded')
  @UseGuards(SessionGuard)
  guarded(): { ok: true } {
    return { ok: true };
  }

  @Get('everything')
  @UseGuards(SessionGuard)
  @RequireAttribute('role')
  everything(@Session() a: Session, @Session({ optional: true }) b: Session | undefined): { same: boolean } {
    return { same: a === b };
  }

  @Post('attributes')
  @HttpCode(200)
  async setAttribute(@Session() session: Session, @Body() body: { key: string; value: unknown; ttlMs?: number }): Promise<{ expiresAt: string | null }> {
    session.setAttribute(body.key, body.value, body.ttlMs === undefined ? undefined : { expiresAt: new Date(Date.now() + body.ttlMs) });
    const saved = await this.sessions.updateSession(session);
    return { expiresAt: saved.getAttributeRecord(body.key)?.expiresAt?.toISOString() ?? null };
  }

  @Post('regenerate')
  @HttpCode(200)
  async regenerate(@Session() session: Session, @Res({ passthrough: true }) res: unknown): Promise<{ id: string }> {
    const fresh = await this.sessions.regenerateSession(session);
    this.cookies.set(res, fresh);
    return { id: fresh.id };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Session() session: Session, @Res({ passthrough: true }) res: unknown): Promise<{ ok: true }> {
    await this.sessions.deleteSession(session.id);
    this.cookies.clear(res);
    return { ok: true };
  }

  @Get('role/any')
  @RequireAttribute('role')
  anyRole(): { ok: true } {
    return { ok: true };
  }

  @Get('role/admin')
  @RequireAttribute('role', { equals: 'admin' })
  admin(): { ok: true } {
    return { ok: true };
  }

  @Get('profile')
  @RequireAttribute('profile', { equals: { level: 2, tags: ['a', 'b'] } })
  profile(): { ok: true } {
    return { ok: true };
  }

  @Get('stacked')
  @RequireAttribute('role')
  @RequireAttribute('elevated')
  stacked(): { ok: true } {
    return { ok: true };
  }

  @Get('group')
  @UseGuards(GroupSessionGuard)
  group(): { ok: true } {
    return { ok: true };
  }
}

@RequireAttribute('tenant')
@Controller('tenant')
class TenantController {
  @Get('any')
  any(): { ok: true } {
    return { ok: true };
  }

  @Get('admin')
  @RequireAttribute('role', { equals: 'admin' })
  admin(): { ok: true } {
    return { ok: true };
  }
}

function start(platform: Platform, url: string, cookie: SessionCookieOptions): Promise<ListeningApp> {
  return startHttpApp(
    platform,
    [SessionModule.forRoot({ connectionString: url, createSchemaIfMissing: true, logger: new RecordingLogger(), cookie })],
    [TestController, TenantController, VaultController],
  );
}

function onlySessionCookie(setCookies: SetCookie[], name = 'session_id'): SetCookie {
  const ours = setCookies.filter((c) => c.name === name);
  assert.equal(ours.length, 1, `exactly one ${name} cookie: ${setCookies.map((c) => c.raw).join(' | ')}`);
  return ours[0]!;
}

/** Counts SessionService.getSession calls of one app (the only way the HTTP layer reads sessions). */
function countLoads(app: ListeningApp): { readonly count: number; reset(): void } {
  const service = app.app.get(SessionService);
  const original = service.getSession.bind(service);
  let count = 0;
  service.getSession = ((...args: Parameters<SessionService['getSession']>) => {
    count++;
    return original(...args);
  }) as SessionService['getSession'];
  return {
    get count() { return count; },
    reset() { count = 0; },
  };
}

const db = useTestDatabase();

for (const platform of PLATFORMS) {
  describe(`HTTP integration on ${platform}`, () => {
    /** Node A: secrets [new, old] (mid-rotation). */
    let main: ListeningApp;
    /** Before the rotation: secrets [old]. */
    let old: ListeningApp;
    /** After the rotation (and node B of the two-node test): secrets [new]. */
    let final: ListeningApp;
    /** Unsigned cookie named `sid`, other flags. */
    let alt: ListeningApp;
    let loads: { readonly count: number; reset(): void };

    before(async () => {
      main = await start(platform, db.url, { secrets: [NEW_SECRET, OLD_SECRET] });
      old = await start(platform, db.url, { secrets: [OLD_SECRET] });
      final = await start(platform, db.url, { secrets: [NEW_SECRET] });
      alt = await start(platform, db.url, { name: 'sid', sameSite: 'strict', secure: false, httpOnly: false, domain: 'localhost', path: '/' });
      loads = countLoads(main);
    });

    after(async () => {
      for (const app of [main, old, final, alt]) await app?.close();
    });

    async function login(client: HttpClient, userId = `${platform}-user`, groupId?: string): Promise<string> {
      const response = await client.post('/login', groupId === undefined ? { userId } : { userId, groupId });
      assert.equal(response.status, 200);
      return response.body.id as string;
    }

    it('login sets exactly one signed cookie with secure flags; /me works; logout clears it and the old cookie gets 401', async () => {
      const client = new HttpClient(main.url);
      const response = await client.post('/login', { userId: 'flags' });
      assert.equal(response.status, 200);
      assert.equal(response.setCookies.length, 1);
      const cookie = onlySessionCookie(response.setCookies);
      assert.match(cookie.value, SIGNED_COOKIE);
      assert.equal(cookie.value.slice(0, 36), response.body.id);
      assert.equal(new HmacSigner([NEW_SECRET]).verify(cookie.value), response.body.id, 'signed with the first secret');
      assert.equal(cookie.attributes.get('httponly'), true);
      assert.equal(cookie.attributes.get('secure'), true);
      assert.equal(cookie.attributes.get('samesite'), 'Lax');
      assert.equal(cookie.attributes.get('path'), '/');
      assert.equal(cookie.attributes.has('domain'), false);
      const maxAge = Number(cookie.attributes.get('max-age'));
      assert.ok(maxAge > THIRTY_DAYS_S - 10 && maxAge <= THIRTY_DAYS_S, `Max-Age ${maxAge}`);
      const expires = Date.parse(String(cookie.attributes.get('expires')));
      assert.ok(Math.abs(expires - (Date.now() + THIRTY_DAYS_S * 1000)) < 10_000, 'Expires matches the session');

      const me = await client.get('/me');
      assert.equal(me.status, 200);
      assert.equal(me.body.id, response.body.id);
      assert.equal(me.body.userId, 'flags');
      assert.equal(me.setCookies.length, 0, 'reading a session sets no cookie');

      const oldCookie = client.jar.header()!;
      const out = await client.post('/logout');
      assert.equal(out.status, 200);
      const cleared = onlySessionCookie(out.setCookies);
      assert.equal(cleared.value, '');
      assert.equal(cleared.attributes.get('max-age'), '0');
      assert.equal(cleared.attributes.get('path'), '/');
      assert.ok(Date.parse(String(cleared.attributes.get('expires'))) < Date.now());
      assert.equal(client.jar.get('session_id'), undefined, 'the jar dropped the cookie');
      assert.equal((await client.get('/me')).status, 401);
      assert.equal((await client.get('/me', { cookie: oldCookie })).status, 401, 'the old cookie no longer works');
    });

    it('a bad cookie is "no session" (401, never 500) and never reaches the session service', async () => {
      const client = new HttpClient(main.url);
      const id = await login(client, 'tamper');
      const good = client.jar.get('session_id')!;
      const signature = good.slice(37);
      const flipped = signature[0] === 'A' ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
      const bad: Record<string, string> = {
        'tampered signature': `${id}.${flipped}`,
        'tampered id': `${id.slice(0, 35)}${id[35] === '0' ? '1' : '0'}.${signature}`,
        'unknown secret': new HmacSigner(['some-other-secret']).sign(id),
        'non-UUID id, validly signed': new HmacSigner([NEW_SECRET]).sign('not-a-uuid'),
        'empty value': '',
        '10 KB value': 'x'.repeat(10 * 1024),
        '10 KB value ending in a valid signature': `${'x'.repeat(10 * 1024)}.${signature}`,
        'unsigned id': id,
        'missing signature': `${id}.`,
        'short signature': `${id}.${signature.slice(1)}`,
        'padded signature': `${id}.${signature}=`,
        'bad percent escape': `%E0%A4%A.${signature}`,
        'quotes only': '""',
      };
      for (const [what, value] of Object.entries(bad)) {
        loads.reset();
        const cookie = `session_id=${value}`;
        for (const path of ['/me', '/guarded', '/role/any', '/everything']) {
          const response = await client.get(path, { cookie });
          assert.equal(response.status, 401, `${what} on ${path}: ${response.text}`);
        }
        const maybe = await client.get('/maybe', { cookie });
        assert.equal(maybe.status, 200);
        assert.equal(maybe.body.id, null, what);
        assert.equal(loads.count, 0, `${what}: the session service was never asked`);
      }
      // A well-formed id that does not exist: asked once, still "no session".
      const unknown = new HmacSigner([NEW_SECRET]).sign('00000000-0000-4000-8000-000000000000');
      assert.equal((await client.get('/me', { cookie: `session_id=${unknown}` })).status, 401);
      // The good cookie still works, among other cookies, quoted, or percent-encoded.
      for (const cookie of [`a=1; session_id=${good}; b=2`, `session_id="${good}"`, `session_id=${encodeURIComponent(good).replace('.', '%2E')}`, `session_id=garbage; session_id=${good}`]) {
        const response = await client.get('/me', { cookie });
        assert.equal(response.status, 200, cookie);
        assert.equal(response.body.id, id);
      }
    });

    it('rotation: a cookie signed with the old secret works while it is second, and stops once it is removed', async () => {
      const client = new HttpClient(old.url);
      const id = await login(client, 'rotation');
      const oldCookie = client.jar.header()!;
      assert.equal(new HmacSigner([OLD_SECRET]).verify(client.jar.get('session_id')!), id);
      // Mid-rotation: [new, old] accepts it.
      const mid = await new HttpClient(main.url).get('/me', { cookie: oldCookie });
      assert.equal(mid.status, 200);
      assert.equal(mid.body.id, id);
      // New cookies are signed with the new secret, which the old node does not know.
      const fresh = new HttpClient(main.url);
      await login(fresh, 'rotation');
      assert.notEqual(new HmacSigner([NEW_SECRET]).verify(fresh.jar.get('session_id')!), null);
      assert.equal((await fresh.on(old.url).get('/me')).status, 401);
      // After the rotation: [new] rejects the old cookie, accepts the new one.
      assert.equal((await new HttpClient(final.url).get('/me', { cookie: oldCookie })).status, 401);
      assert.equal((await fresh.on(final.url).get('/me')).status, 200);
    });

    it('honours the cookie options: name, unsigned value, flags, domain', async () => {
      const client = new HttpClient(alt.url);
      const response = await client.post('/login', { userId: 'alt' });
      const cookie = onlySessionCookie(response.setCookies, 'sid');
      assert.equal(cookie.value, response.body.id, 'no secrets: the bare id');
      assert.equal(cookie.attributes.has('httponly'), false);
      assert.equal(cookie.attributes.has('secure'), false);
      assert.equal(cookie.attributes.get('samesite'), 'Strict');
      assert.equal(cookie.attributes.get('domain'), 'localhost');
      assert.equal((await client.get('/me')).body.id, response.body.id);
      assert.equal((await client.get('/me', { cookie: `sid=${response.body.id.toUpperCase()}` })).body.id, response.body.id);
      assert.equal((await client.get('/me', { cookie: `session_id=${response.body.id}` })).status, 401, 'another name is not ours');
      assert.equal((await client.get('/me', { cookie: `sid=${new HmacSigner(['x']).sign(response.body.id)}` })).status, 401);
      const out = await client.post('/logout');
      const cleared = onlySessionCookie(out.setCookies, 'sid');
      assert.equal(cleared.attributes.get('domain'), 'localhost');
      assert.equal(cleared.attributes.get('path'), '/');
      assert.equal(cleared.attributes.get('max-age'), '0');
    });

    it('appends to Set-Cookie headers already on the response', async () => {
      const client = new HttpClient(main.url);
      const response = await client.post('/login-with-theme', { userId: 'theme' });
      assert.deepEqual(response.setCookies.map((c) => c.name).sort(), ['session_id', 'theme']);
      assert.equal((await client.get('/me')).status, 200);
    });

    it('loads the session only when asked, and at most once per request', async () => {
      const client = new HttpClient(main.url);
      await login(client, 'lazy');
      assert.equal((await client.post('/attributes', { key: 'role', value: 'user' })).status, 200);
      loads.reset();
      assert.equal((await client.get('/public')).status, 200);
      assert.equal(loads.count, 0, 'a route that does not ask never loads');
      const both = await client.get('/everything');
      assert.equal(both.status, 200);
      assert.equal(both.body.same, true, 'the guard and both parameters share one Session');
      assert.equal(loads.count, 1, 'SessionGuard + @RequireAttribute + two @Session() params: one load');
      loads.reset();
      assert.equal((await client.get('/guarded')).status, 200);
      assert.equal(loads.count, 1);
    });

    it('@Session() answers 401 without a session; { optional: true } injects undefined', async () => {
      const anonymous = new HttpClient(main.url);
      const me = await anonymous.get('/me');
      assert.equal(me.status, 401);
      assert.equal(me.body.statusCode, 401);
      assert.deepEqual((await anonymous.get('/maybe')).body, { id: null });
      assert.equal((await anonymous.get('/guarded')).status, 401);
      const client = new HttpClient(main.url);
      const id = await login(client, 'optional');
      assert.deepEqual((await client.get('/maybe')).body, { id });
    });

    it('@RequireAttribute: 401 without a session, 403 when absent, unequal or expired, 200 when it holds', async () => {
      const anonymous = new HttpClient(main.url);
      for (const path of ['/role/any', '/role/admin', '/profile', '/stacked', '/tenant/any']) {
        assert.equal((await anonymous.get(path)).status, 401, path);
      }
      const client = new HttpClient(main.url);
      await login(client, 'attrs');
      assert.equal((await client.get('/role/any')).status, 403);
      const forbidden = await client.get('/role/admin');
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.statusCode, 403);

      await client.post('/attributes', { key: 'role', value: 'user' });
      assert.equal((await client.get('/role/any')).status, 200);
      assert.equal((await client.get('/role/admin')).status, 403, 'unequal');
      await client.post('/attributes', { key: 'role', value: 'admin' });
      assert.equal((await client.get('/role/admin')).status, 200);
      await client.post('/attributes', { key: 'role', value: null });
      assert.equal((await client.get('/role/any')).status, 200, 'null is a value');
      assert.equal((await client.get('/role/admin')).status, 403);

      // deep equality of JSON values, key order ignored
      await client.post('/attributes', { key: 'profile', value: { tags: ['a', 'b'], level: 2 } });
      assert.equal((await client.get('/profile')).status, 200);
      await client.post('/attributes', { key: 'profile', value: { tags: ['b', 'a'], level: 2 } });
      assert.equal((await client.get('/profile')).status, 403);
      await client.post('/attributes', { key: 'profile', value: { tags: ['a', 'b'], level: 2, extra: true } });
      assert.equal((await client.get('/profile')).status, 403);
      await client.post('/attributes', { key: 'profile', value: { tags: ['a', 'b'], level: '2' } });
      assert.equal((await client.get('/profile')).status, 403);

      // stacked decorators all apply
      await client.post('/attributes', { key: 'role', value: 'user' });
      assert.equal((await client.get('/stacked')).status, 403);
      await client.post('/attributes', { key: 'elevated', value: true });
      assert.equal((await client.get('/stacked')).status, 200);

      // expiry
      const granted = await client.post('/attributes', { key: 'elevated', value: true, ttlMs: 400 });
      assert.equal((await client.get('/stacked')).status, 200, 'before expiry');
      await waitUntilPast(new Date(granted.body.expiresAt));
      assert.equal((await client.get('/stacked')).status, 403, 'after expiry');
    });

    it('controller-level and handler-level requirements add up', async () => {
      const client = new HttpClient(main.url);
      await login(client, 'tenant');
      await client.post('/attributes', { key: 'role', value: 'admin' });
      assert.equal((await client.get('/tenant/any')).status, 403, 'class-level requirement');
      assert.equal((await client.get('/tenant/admin')).status, 403, 'the handler requirement does not replace the class one');
      await client.post('/attributes', { key: 'tenant', value: 't1' });
      assert.equal((await client.get('/tenant/any')).status, 200);
      assert.equal((await client.get('/tenant/admin')).status, 200);
      await client.post('/attributes', { key: 'role', value: 'user' });
      assert.equal((await client.get('/tenant/admin')).status, 403);
    });

    it('a subclassed SessionGuard: 401 without a session, 403 from its own rule, 200 when it holds', async () => {
      assert.equal((await new HttpClient(main.url).get('/group')).status, 401);
      const noGroup = new HttpClient(main.url);
      await login(noGroup, 'no-group');
      assert.equal((await noGroup.get('/group')).status, 403);
      const inGroup = new HttpClient(main.url);
      await login(inGroup, 'grouped', 'g-1');
      assert.equal((await inGroup.get('/group')).status, 200);
    });

    it('a subclassed RequireAttributeGuard on the controller answers in its own words', async () => {
      assert.equal((await new HttpClient(main.url).get('/vault')).status, 401);
      const client = new HttpClient(main.url);
      await login(client, 'vault');
      const denied = await client.get('/vault');
      assert.equal(denied.status, 403);
      assert.deepEqual(denied.body, { message: 'Step-up required', stepUp: '/step-up', attribute: 'elevated' });
      await client.post('/attributes', { key: 'elevated', value: true });
      assert.equal((await client.get('/vault')).status, 200);
    });

    it('regenerating moves the session to a new id; the old cookie gets 401', async () => {
      const client = new HttpClient(main.url);
      const id = await login(client, 'regen');
      const before = client.jar.header()!;
      const response = await client.post('/regenerate');
      assert.equal(response.status, 200);
      assert.notEqual(response.body.id, id);
      onlySessionCookie(response.setCookies);
      assert.equal((await client.get('/me')).body.id, response.body.id);
      assert.equal((await client.get('/me', { cookie: before })).status, 401);
    });

    it('a database failure is a 500, not a 401', async () => {
      const client = new HttpClient(main.url);
      await login(client, 'db-down');
      const service = main.app.get(SessionService);
      const working = service.getSession;
      service.getSession = (() => Promise.reject(new Error('connection terminated unexpectedly'))) as SessionService['getSession'];
      try {
        for (const path of ['/me', '/maybe', '/guarded', '/role/any']) {
          assert.equal((await client.get(path)).status, 500, path);
        }
      } finally {
        service.getSession = working;
      }
      assert.equal((await client.get('/me')).status, 200);
    });

    it('revoked on node B: the next request on node A with that cookie gets 401', async () => {
      // main (A) and final (B) share the database and the signing secret.
      const a = new HttpClient(main.url, new CookieJar());
      const id = await login(a, 'two-nodes');
      assert.equal((await a.get('/me')).body.fromCache, true, 'node A serves the session from its cache');
      const b = a.on(final.url);
      assert.equal((await b.get('/me')).body.id, id);
      const cookie = a.jar.header()!;
      // Revocation reaches A by NOTIFY within milliseconds: wait until A heard it.
      const heard = heardChange(main.app, SessionNotifications, (c) => c.ids.includes(id));
      assert.equal((await b.post('/logout')).status, 200);
      await heard;
      const next = await a.get('/me', { cookie });
      assert.equal(next.status, 401, 'node A must not serve its cached copy of a session deleted on node B');
    });
  });
}
