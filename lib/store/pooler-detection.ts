import type { Pool, PoolClient } from 'pg';

/** One client connection, as far as the probe needs it. */
interface ProbeClient {
  query(text: string): Promise<{ rows: Array<{ pid: number }> }>;
}

const PID_SQL = 'SELECT pg_backend_pid() AS pid';
/** Alternating rounds over the two connections; PgBouncer (LIFO reuse) shows itself in the first. */
const ROUNDS = 3;

/**
 * Whether the pool's connections go through a pooler in transaction (or statement) mode,
 * i.e. whether the server session behind one client connection may change between
 * transactions, which breaks named prepared statements and LISTEN.
 *
 * How: two client connections ask for their server backend's pid in turn, each query its
 * own transaction. A direct connection (or a session-mode pooler) keeps one backend for its
 * whole life, so each connection always sees the same pid and the two pids differ: there
 * are no false positives. A transaction pooler hands a released server to the next client:
 * one connection sees several pids, or both see the same one. PgBouncer reuses the last
 * released server first, so the second query of the first round already shows it; a
 * pooler that round-robins shows it within a few rounds.
 */
export async function detectTransactionPooler(pool: Pool): Promise<boolean> {
  const first = await pool.connect();
  let second: PoolClient | undefined;
  let standalone: { connect(): Promise<unknown>; end(): Promise<void> } & ProbeClient | undefined;
  let failure: Error | undefined;
  try {
    if ((pool.options.max ?? 10) >= 2) {
      second = await pool.connect();
    } else {
      // A pool of one cannot lend a second connection: open one like it, outside the pool.
      const ClientClass = (pool as unknown as { Client: new (options: unknown) => NonNullable<typeof standalone> }).Client;
      standalone = new ClientClass(pool.options);
      await standalone.connect();
    }
    const clients: ProbeClient[] = [first, (second ?? standalone)!];
    const seen: Array<Set<number>> = [new Set(), new Set()];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < 2; i++) {
        const { rows } = await clients[i]!.query(PID_SQL);
        seen[i]!.add(rows[0]!.pid);
      }
      const [a, b] = seen as [Set<number>, Set<number>];
      if (a.size > 1 || b.size > 1 || [...a].some((pid) => b.has(pid))) return true;
    }
    return false;
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A connection that failed mid-probe is destroyed rather than returned to the pool.
    first.release(failure);
    second?.release(failure);
    await standalone?.end().catch(() => undefined);
  }
}
