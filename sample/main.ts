import { createSampleApp, type SamplePlatform } from './sample-app.js';

// Configuration comes from the environment (see docs/sample-app.md):
//   DATABASE_URL     required; `npm run sample` starts an embedded PostgreSQL when unset
//   PORT             default 3000
//   HOST             default 127.0.0.1
//   SAMPLE_PLATFORM  'express' (default) or 'fastify'
//   COOKIE_SECURE    'true' behind HTTPS. Off by default because the sample is served
//                    over plain http://localhost, where not every browser keeps a
//                    Secure cookie. The library itself defaults to Secure.
//   SESSION_SECRETS  comma-separated cookie secrets, the signing one first
//   NODE_NAME        shown by GET /node (sample:cluster names its nodes)
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is unset. Run `npm run sample` (it starts an embedded PostgreSQL), or set DATABASE_URL.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const platform: SamplePlatform = process.env.SAMPLE_PLATFORM === 'fastify' ? 'fastify' : 'express';
const secrets = process.env.SESSION_SECRETS?.split(',').filter((s) => s.length > 0);
if (secrets === undefined || secrets.length === 0) {
  console.warn('SESSION_SECRETS is unset: signing cookies with the built-in demo secret.');
}

const app = await createSampleApp(platform, {
  databaseUrl,
  cookieSecure: process.env.COOKIE_SECURE === 'true',
  secrets,
  nodeName: process.env.NODE_NAME,
});
app.enableShutdownHooks();
await app.listen(port, host);
console.log(`nestjs-pg-session sample (${platform}) listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`);
