import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { SampleAppOptions } from './sample-options.js';

/** HTTP platform of the sample. */
export type SamplePlatform = 'express' | 'fastify';

/**
 * Creates the sample application on Express or Fastify, initialised but not
 * listening: call `app.listen(port)` (`main.ts` does; the tests listen on port 0).
 */
export async function createSampleApp(platform: SamplePlatform, options: SampleAppOptions): Promise<INestApplication> {
  const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AppModule.forRoot(options), adapter, {
    logger: options.logger ?? undefined,
    abortOnError: false,
  });
  await app.init();
  return app;
}

export type { SampleAppOptions } from './sample-options.js';
export { DEFAULT_STEP_UP_DURATION } from './sample-options.js';
