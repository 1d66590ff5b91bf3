import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import session from 'express-session';
import { SessionModule, SessionService } from 'nestjs-pg-session';
import { ExpressSessionStore } from 'nestjs-pg-session/express-session';
import passport from 'passport';
import { DemoUsersService } from '../users/demo-users.service.js';
import { AppController } from './app.controller.js';
import { LocalStrategy, LoginGuard, UserSerializer } from './auth.js';

export interface ExpressSessionSampleOptions {
  databaseUrl: string;
  /** express-session secrets (the first signs). */
  secrets?: string[];
  cookieSecure?: boolean;
  logger?: false;
}

/**
 * The express-session + Passport sample, initialised but not listening. The app was
 * written for connect-pg-simple; switching to this library changed one line (below).
 */
export async function createExpressSessionSample(options: ExpressSessionSampleOptions): Promise<INestApplication> {
  @Module({
    imports: [
      SessionModule.forRoot({ connectionString: options.databaseUrl, createSchemaIfMissing: true }),
      PassportModule.register({ session: true }),
    ],
    controllers: [AppController],
    providers: [DemoUsersService, LocalStrategy, UserSerializer, LoginGuard],
  })
  class ExpressSessionSampleModule {}

  const app = await NestFactory.create(ExpressSessionSampleModule, new ExpressAdapter(), { logger: options.logger ?? undefined, abortOnError: false });
  app.use(
    session({
      // Before: store: new (connectPgSimple(session))({ conString: options.databaseUrl }),
      store: new ExpressSessionStore(app.get(SessionService)),
      secret: options.secrets ?? ['express-session sample secret'],
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { maxAge: 24 * 60 * 60 * 1000, httpOnly: true, sameSite: 'lax', secure: options.cookieSecure ?? false },
    }),
  );
  app.use(passport.initialize());
  app.use(passport.session());
  await app.init();
  return app;
}
