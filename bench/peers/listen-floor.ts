import pg from 'pg';
import { UPDATED_KEY } from '../data.js';

const CHANNEL = 'bench_floor';

/**
 * Floor of cross-node invalidation: the same write as one hand-written statement that
 * also calls pg_notify (so the notification commits with the data), sent by a raw
 * pg.Client, heard by another raw pg.Client that LISTENs and parses the payload.
 */
export class ListenFloor {
  private readonly writer: pg.Client;
  private readonly listener: pg.Client;
  private readonly waiting = new Map<string, () => void>();

  private constructor(url: string) {
    this.writer = new pg.Client({ connectionString: url });
    this.listener = new pg.Client({ connectionString: url });
  }

  static async start(url: string): Promise<ListenFloor> {
    const floor = new ListenFloor(url);
    await floor.writer.connect();
    await floor.listener.connect();
    floor.listener.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      const { i } = JSON.parse(msg.payload) as { i: string[] };
      for (const id of i) {
        const done = floor.waiting.get(id);
        if (done) {
          floor.waiting.delete(id);
          done();
        }
      }
    });
    await floor.listener.query(`LISTEN ${CHANNEL}`);
    return floor;
  }

  /** Resolves when the listener hears `id`. */
  heard(id: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  /** The write: update one attribute and notify, as one autocommit statement. */
  async write(id: string, valueJson: string, payload: string): Promise<void> {
    const r = await this.writer.query({
      name: 'floor_update_notify',
      text: `WITH u AS (
               UPDATE floor_attributes SET value = $3, version = version + 1 WHERE session_id = $1 AND key = $2 RETURNING session_id
             )
             SELECT pg_notify('${CHANNEL}', $4) FROM u`,
      values: [id, UPDATED_KEY, valueJson, payload],
    });
    if (r.rowCount !== 1) throw new Error('floor notify-update touched no row');
  }

  async close(): Promise<void> {
    await this.writer.end();
    await this.listener.end();
  }
}
