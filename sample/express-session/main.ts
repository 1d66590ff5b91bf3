import { createExpressSessionSample } from './express-session-sample.js';

// `npm run sample:express-session` (starts an embedded PostgreSQL when DATABASE_URL is unset).
//   DATABASE_URL  required; PORT default 3000; HOST default 127.0.0.1
//   SESSION_SECRETS comma-separated express-session secrets; COOKIE_SECURE 'true' behind HTTPS
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is unset. Run `npm run sample:express-session` (it starts an embedded PostgreSQL), or set DATABASE_URL.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const secrets = process.env.SESSION_SECRETS?.split(',').filter((s) => s.length > 0);

const app = await createExpressSessionSample({ databaseUrl, secrets, cookieSecure: process.env.COOKIE_SECURE === 'true' });
app.enableShutdownHooks();
await app.listen(port, host);
console.log(`express-session + Passport sample listening on http://${host}:${port} (alice / bob, password "secret")`);
