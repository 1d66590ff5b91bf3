import pg from 'pg';
import { UPDATED_KEY } from '../data.js';

/**
 * The references' NOTIFY channel, heard by a listener of their own (as every node hears
 * the library's): this one's and the sequential one's in `sql-floor.ts`.
 */
export const HEARD_CHANNEL = 'bench_hand_batched';
const CHANNEL = HEARD_CHANNEL;

/** One update waiting for its batch. */
export interface Pending {
  id: string;
  value: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The batching design's limit, by hand: concurrent updates coalesced into one
 * autocommit statement per batch that makes the writes every update must make (upsert
 * the attribute, bump the session's version, one `pg_notify` for the batch), with two
 * batches in flight, and a completed batch's slot refilled on the next turn so the
 * callers it released can queue their next update first. A lone update (nothing in
 * flight) is sent at once. No checks, no per-update results: what the library's write
 * path is measured against. Runs on the floor tables (`floor_sessions`,
 * `floor_attributes`).
 *
 * Its notifications are heard, like the library's: a raw LISTEN client parses each
 * payload. A NOTIFY nobody listens to costs PostgreSQL less at commit (no listening
 * backend to signal and wake), and in a deployment the writing node itself listens.
 */
export class HandBatchedUpdate {
  private queue: Pending[] = [];
  private inFlight = 0;

  protected constructor(
    protected readonly pool: pg.Pool,
    private readonly listener: pg.Client,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 64,
  ) {}

  static async start(pool: pg.Pool, url: string): Promise<HandBatchedUpdate> {
    return new HandBatchedUpdate(pool, await HandBatchedUpdate.listen(url, CHANNEL));
  }

  /** A LISTEN client on `channel` that parses each payload, as a node parses the library's. */
  protected static async listen(url: string, channel: string): Promise<pg.Client> {
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    listener.on('notification', (msg) => {
      // Parsed as a node parses the library's payloads; nothing else to do with it here.
      if (msg.channel === channel && msg.payload) JSON.parse(msg.payload);
    });
    await listener.query(`LISTEN "${channel}"`);
    return listener;
  }

  close(): Promise<void> {
    return this.listener.end();
  }

  update(id: string, value: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, value: JSON.stringify(value), resolve, reject });
      if (this.inFlight === 0) this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.write(batch)
        .then(
          () => batch.forEach((p) => p.resolve()),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          setImmediate(() => this.pump());
        });
    }
  }

  /** Writes one batch (in the order queued); rejects to fail all of it. */
  protected async write(batch: Pending[]): Promise<void> {
    const ids = batch.map((p) => p.id);
    const r = await this.pool.query({
      name: 'hand_batched_update',
      text: `WITH v AS (
               SELECT * FROM unnest($1::uuid[], $2::text[]) AS v(id, value)
             ), s AS (
               UPDATE floor_sessions x SET version = x.version + 1, updated_at = now()
                 FROM v WHERE x.id = v.id
               RETURNING x.id, x.version
             ), a AS (
               INSERT INTO floor_attributes AS a (session_id, key, value, expires_at, version)
               SELECT s.id, $3::text, v.value, NULL, s.version FROM s JOIN v ON v.id = s.id
               ON CONFLICT (session_id, key) DO UPDATE SET value = EXCLUDED.value, version = a.version + 1
               RETURNING a.session_id
             )
             SELECT (SELECT count(*) FROM a)::int AS written, pg_notify('${CHANNEL}', json_build_object('i', $1::uuid[])::text)`,
      values: [ids, batch.map((p) => p.value), UPDATED_KEY],
    });
    if ((r.rows[0] as { written: number }).written !== batch.length) throw new Error('hand-batched update missed rows');
  }
}
