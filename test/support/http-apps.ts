import 'reflect-metadata';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';

/** The HTTP platforms every e2e suite runs on. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** An application listening on a loopback port. */
export interface ListeningApp {
  readonly app: INestApplication;
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on a free loopback port and returns the base URL. */
export async function listen(app: INestApplication): Promise<ListeningApp> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closed = false;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** Builds a Nest application on `platform` from `imports` and `controllers`, and listens. */
export async function startHttpApp(platform: Platform, imports: Array<DynamicModule | Type>, controllers: Type[]): Promise<ListeningApp> {
  const moduleRef = await Test.createTestingModule({ imports, controllers }).compile();
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = moduleRef.createNestApplication(adapter, { logger: false });
  return listen(app);
}
