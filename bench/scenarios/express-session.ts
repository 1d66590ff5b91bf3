import type { SessionData, Store } from 'express-session';
import { ExpressSessionStore } from '../../lib/express-session.js';
import { expressSessionFor, navValue } from '../data.js';
import { fromCallback } from '../harness.js';
import { compare, keyIndex, type BenchContext, type ImplSpec } from './common.js';

const DAY = 24 * 60 * 60 * 1000;

/** The session data of index `i` as express-session saves it with `cookie.maxAge` set (a rolling-style session). */
function rollingSessionFor(i: number): Record<string, unknown> {
  const data = expressSessionFor(i);
  return { ...data, cookie: { ...data.cookie, originalMaxAge: DAY, expires: new Date(Date.now() + DAY).toISOString() } };
}

/**
 * What express-session does with its store on one request, without HTTP: `get`, wrap
 * the data in its `Session` (`createSession`), renew the cookie (`touch()`), then
 * either `store.touch` (an unmodified session) or `store.set` after changing one key.
 */
function storeRound(store: Store, sids: readonly string[], ctx: BenchContext, change: boolean) {
  return async (n: number): Promise<void> => {
    const sid = sids[keyIndex(ctx.data, n)]!;
    const raw = await fromCallback<SessionData | null>((cb) => store.get(sid, cb));
    if (!raw) throw new Error(`express-session round: session ${sid} not found`);
    const session = store.createSession({ sessionID: sid, sessionStore: store } as never, raw) as unknown as Record<string, unknown> & { touch(): void };
    session.touch();
    if (change) {
      session.nav = navValue(n);
      await fromCallback((cb) => store.set(sid, session as unknown as SessionData, cb));
    } else {
      await fromCallback((cb) => store.touch!(sid, session as unknown as SessionData, cb as () => void));
    }
  };
}

/**
 * "express-session request": one store round per request through ExpressSessionStore,
 * connect-pg-simple and connect-redis, each over the same sessions (cookie with a
 * one-day maxAge, as a rolling session has), sequential and 32 in flight.
 */
export async function expressSessionRequest(ctx: BenchContext): Promise<void> {
  const { data, node, pgSimple, redis } = ctx;
  const ours = new ExpressSessionStore(node.sessions);
  const sids = data.ids.map((id) => `es-${id}`);
  const put = (store: Store, i: number) => fromCallback((cb) => store.set(sids[i]!, rollingSessionFor(i) as unknown as SessionData, cb));
  ctx.progress('express-session request: loading the sessions into the three stores...');
  let next = 0;
  const workers = Array.from({ length: 32 }, async () => {
    for (let i = next++; i < data.size; i = next++) {
      await put(ours, i);
      await put(pgSimple.store, i);
      if (redis) await put(redis.store, i);
    }
  });
  await Promise.all(workers);
  await node.sessions.flushLastAccess();

  for (const change of [false, true]) {
    const what = change ? 'get + set of one key' : 'get + touch';
    const impls: ImplSpec[] = [
      { impl: `this library: ExpressSessionStore ${what}`, role: 'ours', op: storeRound(ours, sids, ctx, change) },
      { impl: `connect-pg-simple ${what}`, role: 'peer', op: storeRound(pgSimple.store, sids, ctx, change) },
      {
        impl: `connect-redis ${what}`, role: 'peer', skipped: ctx.redisSkipped ?? undefined,
        op: redis ? storeRound(redis.store, sids, ctx, change) : undefined,
      },
    ];
    await compare(ctx, `express-session request: ${what}`, impls, ['seq', 'in-flight'], { seq: ctx.config.serverOpsSeq, inFlight: ctx.config.serverOpsConcurrent });
  }
}
