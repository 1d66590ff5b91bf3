import 'reflect-metadata';
import fastifyCookie from '@fastify/cookie';
import fastifyPassport from '@fastify/passport';
import fastifySession from '@fastify/session';
import {
  Controller,
  Get,
  Injectable,
  Param,
  Post,
  Req,
  Res,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Strategy } from 'passport-local';
import { DataSource } from 'typeorm';
import { SessionModule, SessionNotifications, SessionService, type SessionModuleOptions } from '../../lib/index.js';
import { FastifySessionStore } from '../../lib/fastify-session.js';
import { USERS } from './framework-apps.js';
import { listen, type ListeningApp } from './http-apps.js';
import { RecordingLogger } from './nodes.js';

type Authenticator = InstanceType<typeof fastifyPassport.Authenticator>;
type Barrier = { waiting: number; target: number; release: Array<() => void> };

/** A Nest guard that runs @fastify/passport's `authenticate('local')` and logs the user in (session regenerated). */
function localLoginGuard(passport: Authenticator) {
  @Injectable()
  class FastifyLocalLoginGuard implements CanActivate {
    async canActivate(context: ExecutionContext): Promise<boolean> {
      const http = context.switchToHttp();
      let user: unknown = false;
      const authenticate = passport.authenticate('local', async (request, _reply, err, found) => {
        if (err) throw err;
        if (!found) return;
        await request.logIn(found);
        user = found;
      });
      await authenticate.call(undefined as never, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
      if (!user) throw new UnauthorizedException();
      return true;
    }
  }
  return FastifyLocalLoginGuard;
}

function fastifyStoreController(passport: Authenticator, barrier: Barrier) {
  const Guard = localLoginGuard(passport);
  @Controller()
  class FastifyStoreTestController {
    @Post('login')
    @UseGuards(Guard)
    login(@Req() req: FastifyRequest) {
      return { user: (req.user as { id: string } | undefined)?.id ?? null, sid: req.session.sessionId };
    }

    @Get('me')
    me(@Req() req: FastifyRequest) {
      req.session.set('visits', ((req.session.get('visits') as number | undefined) ?? 0) + 1);
      return { user: (req.user as { id: string } | undefined)?.id ?? null, sid: req.session.sessionId };
    }

    @Get('peek')
    peek(@Req() req: FastifyRequest) {
      return { user: (req.user as { id: string } | undefined)?.id ?? null, sid: req.session.sessionId };
    }

    @Get('data')
    data(@Req() req: FastifyRequest) {
      return JSON.parse(JSON.stringify(req.session)) as unknown;
    }

    @Post('keys/:key')
    async setKey(@Req() req: FastifyRequest, @Param('key') key: string) {
      if (barrier.target > 0) {
        barrier.waiting++;
        if (barrier.waiting >= barrier.target) for (const go of barrier.release.splice(0)) go();
        else await new Promise<void>((resolve) => barrier.release.push(resolve));
      }
      req.session.set(key, `value-${key}`);
      return { sid: req.session.sessionId };
    }

    @Post('short/:ms')
    short(@Req() req: FastifyRequest, @Param('ms') ms: string) {
      req.session.cookie.maxAge = Number(ms);
      req.session.set('short', true);
      return { sid: req.session.sessionId };
    }

    @Post('destroy')
    async destroy(@Req() req: FastifyRequest) {
      await req.session.destroy();
      return { ok: true };
    }

    @Post('logout')
    async logout(@Req() req: FastifyRequest, @Res({ passthrough: true }) _reply: FastifyReply) {
      await req.logOut();
      return { ok: true };
    }
  }
  return FastifyStoreTestController;
}

/** One Fastify node: Nest + @fastify/cookie + @fastify/session over FastifySessionStore + @fastify/passport. */
export interface FastifyStoreNode extends ListeningApp {
  readonly sessions: SessionService;
  readonly notifications: SessionNotifications;
  readonly store: FastifySessionStore;
  readonly barrier: Barrier;
  readonly dataSource: DataSource;
}

export async function startFastifyStoreNode(url: string, options: { module?: Partial<SessionModuleOptions>; rolling?: boolean } = {}): Promise<FastifyStoreNode> {
  const dataSource = new DataSource({ type: 'postgres', url, poolSize: 10 });
  await dataSource.initialize();
  const barrier: Barrier = { waiting: 0, target: 0, release: [] };
  const passport = new fastifyPassport.Authenticator();
  passport.use('local', new Strategy((username, password, done) => {
    const id = USERS[username];
    done(null, id !== undefined && password === 'secret' ? { id, username } : false);
  }));
  passport.registerUserSerializer(async (user: { id: string }) => user.id);
  passport.registerUserDeserializer(async (id: string) => {
    const username = Object.keys(USERS).find((name) => USERS[name] === id);
    return username === undefined ? null : { id, username };
  });
  let app: NestFastifyApplication | undefined;
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ dataSource, createSchemaIfMissing: true, logger: new RecordingLogger(), ...options.module })],
      controllers: [fastifyStoreController(passport, barrier)],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    const sessions = app.get(SessionService);
    const store = new FastifySessionStore(sessions);
    await app.register(fastifyCookie as never);
    await app.register(fastifySession as never, {
      store,
      secret: 'a test secret of at least thirty-two characters',
      saveUninitialized: true,
      rolling: options.rolling ?? true,
      cookie: { secure: false, maxAge: 60 * 60 * 1000 },
    } as never);
    await app.register(passport.initialize() as never);
    await app.register(passport.secureSession() as never);
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
