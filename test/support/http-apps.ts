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

/** The part of `SessionNotifications` these helpers need (the library's or the sample's copy). */
interface ChangeSource {
  readonly changes$: { subscribe(observer: (change: { type: string; ids: string[] }) => void): { unsubscribe(): void } };
}

/**
 * Resolves when `app` hears (from another node) a change that matches, or rejects after
 * `timeoutMs`. Start it before the action that causes the change. `token` is the
 * `SessionNotifications` class of the copy of the library the app was built with.
 */
export function heardChange(
  app: INestApplication,
  token: abstract new (...args: never[]) => ChangeSource,
  matches: (change: { type: string; ids: string[] }) => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const notifications = app.get(token);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`no matching session change heard within ${timeoutMs} ms`));
    }, timeoutMs);
    const subscription = notifications.changes$.subscribe((change) => {
      if (!matches(change)) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
  });
}
