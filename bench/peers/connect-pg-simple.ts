import connectPgSimple from 'connect-pg-simple';
import session, { type SessionData } from 'express-session';
import pg from 'pg';
import { fromCallback } from '../harness.js';

/**
 * connect-pg-simple 10 through express-session's store API (`get(sid, cb)`,
 * `set(sid, session, cb)`), on its own pg pool of the library's size (10), with its
 * own table (created by the store), pruning off during the run.
 */
export class PgSimplePeer {
  readonly pool: pg.Pool;
  readonly store: InstanceType<ReturnType<typeof connectPgSimple>>;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 10 });
    const PGStore = connectPgSimple(session);
    this.store = new PGStore({ pool: this.pool, createTableIfMissing: true, pruneSessionInterval: false });
  }

  async get(sid: string): Promise<SessionData> {
    const s = await fromCallback<SessionData | null>((cb) => this.store.get(sid, cb));
    if (!s) throw new Error(`connect-pg-simple: session ${sid} not found`);
    return s;
  }

  set(sid: string, sess: object): Promise<unknown> {
    return fromCallback((cb) => this.store.set(sid, sess as SessionData, cb));
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.pool.end();
  }
}
