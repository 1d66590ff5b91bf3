import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Param,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { AuthGuard, PassportModule, PassportSerializer, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Store } from 'express-session';
import session from 'express-session';
import passport from 'passport';
import { Strategy } from 'passport-local';
import { DataSource } from 'typeorm';
import { SessionModule, SessionNotifications, SessionService, type SessionModuleOptions } from '../../lib/index.js';
import { ExpressSessionStore } from '../../lib/express-session.js';
import { listen, type ListeningApp } from './http-apps.js';
import { RecordingLogger } from './nodes.js';

/** Demo users: name → id (the id Passport keeps in the session). */
export const USERS: Record<string, string> = { alice: 'u-alice', bob: 'u-bob' };

@Injectable()
class LocalStrategy extends PassportStrategy(Strategy) {
  validate(username: string, password: string): { id: string; username: string } {
    const id = USERS[username];
    if (id === undefined || password !== 'secret') throw new UnauthorizedException();
    return { id, username };
  }
}

@Injectable()
class UserSerializer extends PassportSerializer {
  serializeUser(user: { id: string }, done: (err: unknown, id?: string) => void): void {
    done(null, user.id);
  }
  deserializeUser(id: string, done: (err: unknown, user?: { id: string; username: string }) => void): void {
    const username = Object.keys(USERS).find((name) => USERS[name] === id);
    done(null, username === undefined ? undefined : { id, username });
  }
}

/** `AuthGuard('local')` that also starts the login session (Passport regenerates the session id). */
@Injectable()
class LocalLoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const ok = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest());
    return ok;
  }
}

type Req = { sessionID: string; session: Record<string, unknown> & { destroy(cb: (err?: unknown) => void): void; cookie: { maxAge?: number | null } }; user?: { id: string }; logout(cb: (err?: unknown) => void): void };

/**
 * Routes used by the framework-store tests. `arrive(n)` lets a test hold requests at a
 * barrier until `n` of them are in their handlers (so each one has read the session
 * before any of them saves it).
 */
export function storeTestController(barrier: { waiting: number; target: number; release: Array<() => void> }) {
  @Controller()
  class StoreTestController {
    @Post('login')
    @UseGuards(LocalLoginGuard)
    login(@Req() req: Req) {
      return { user: req.user?.id ?? null, sid: req.sessionID };
    }

    @Get('me')
    me(@Req() req: Req) {
      req.session.visits = ((req.session.visits as number | undefined) ?? 0) + 1;
      return { user: req.user?.id ?? null, sid: req.sessionID };
    }

    @Get('peek')
    peek(@Req() req: Req) {
      return { user: req.user?.id ?? null, sid: req.sessionID };
    }

    @Get('data')
    data(@Req() req: Req) {
      return { ...req.session };
    }

    @Post('keys/:key')
    async setKey(@Req() req: Req, @Param('key') key: string) {
      if (barrier.target > 0) {
        barrier.waiting++;
        if (barrier.waiting >= barrier.target) for (const go of barrier.release.splice(0)) go();
        else await new Promise<void>((resolve) => barrier.release.push(resolve));
      }
      req.session[key] = `value-${key}`;
      return { sid: req.sessionID };
    }

    @Post('short/:ms')
    short(@Req() req: Req, @Param('ms') ms: string) {
      req.session.cookie.maxAge = Number(ms);
      req.session.short = true;
      return { sid: req.sessionID };
    }

    @Post('destroy')
    destroy(@Req() req: Req) {
      return new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve({ ok: true }))));
    }

    @Post('logout')
    logout(@Req() req: Req) {
      return new Promise((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve({ ok: true }))));
    }
  }
  return StoreTestController;
}

/** One Express node: Nest + express-session + Passport over `store`. */
export interface ExpressStoreNode extends ListeningApp {
  readonly sessions: SessionService;
  readonly notifications: SessionNotifications;
  readonly store: Store;
  readonly barrier: { waiting: number; target: number; release: Array<() => void> };
  /** The pool under the module (a DataSource this helper made), to count statements. */
  readonly dataSource: DataSource;
}

export interface ExpressStoreNodeOptions {
  module?: Partial<SessionModuleOptions>;
  /** Builds the store (default: an ExpressSessionStore over the node's SessionService). */
  store?: (sessions: SessionService) => Store;
  session?: Partial<session.SessionOptions>;
}

/** Starts an Express node: the module over its own DataSource, express-session with the store, Passport. */
export async function startExpressStoreNode(url: string, options: ExpressStoreNodeOptions = {}): Promise<ExpressStoreNode> {
  const dataSource = new DataSource({ type: 'postgres', url, poolSize: 10 });
  await dataSource.initialize();
  const barrier = { waiting: 0, target: 0, release: [] as Array<() => void> };
  let app: INestApplication | undefined;
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({ dataSource, createSchemaIfMissing: true, logger: new RecordingLogger(), ...options.module }),
        PassportModule.register({ session: true }),
      ],
      controllers: [storeTestController(barrier)],
      providers: [LocalStrategy, UserSerializer],
    }).compile();
    app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
    const sessions = app.get(SessionService);
    const store = options.store ? options.store(sessions) : new ExpressSessionStore(sessions);
    app.use(session({ store, secret: ['test secret'], resave: false, saveUninitialized: true, cookie: { maxAge: 60 * 60 * 1000 }, ...options.session }));
    app.use(passport.initialize());
    app.use(passport.session());
    const listening = await listen(app);
    return {
      ...listening,
      sessions,
      notifications: app.get(SessionNotifications),
      store,
      barrier,
      dataSource,
      async close() {
        await listening.close();
        await dataSource.destroy();
      },
    };
  } catch (err) {
    await app?.close();
    await dataSource.destroy();
    throw err;
  }
}
