import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { createClient } from 'redis';
import { fromCallback } from '../harness.js';

/**
 * connect-redis 9 through express-session's store API, on a node-redis 6 client
 * (one connection, which pipelines commands in flight), against a local redis-server.
 */
export class RedisPeer {
  private constructor(
    private readonly client: { quit(): Promise<unknown> },
    readonly store: RedisStore,
  ) {}

  static async start(url: string): Promise<RedisPeer> {
    const client = createClient({ url });
    client.on('error', (err: unknown) => process.stderr.write(`[redis] ${String(err)}\n`));
    await client.connect();
    return new RedisPeer(client, new RedisStore({ client, prefix: 'sess:' }));
  }

  async get(sid: string): Promise<SessionData> {
    const s = await fromCallback<SessionData | null>((cb) => void this.store.get(sid, cb));
    if (!s) throw new Error(`connect-redis: session ${sid} not found`);
    return s;
  }

  set(sid: string, sess: object): Promise<unknown> {
    return fromCallback((cb) => void this.store.set(sid, sess as SessionData, cb));
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}
