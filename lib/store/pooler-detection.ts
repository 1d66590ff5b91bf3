import type { Pool, PoolClient } from 'pg';

/** One client connection, as far as the probe needs it. */
interface ProbeClient {
  query(text: string): Promise<{ rows: Array<{ backend: string }> }>;
}

/**
 * Which server session answers: its pid, plus the server's address and start time, since
 * two different servers (behind a TCP balancer, or after a failover) can reuse a pid.
 */
const BACKEND_SQL = `SELECT pg_backend_pid()::text || '@' || coalesce(host(inet_server_addr()), 'local') || '@' || pg_postmaster_start_time()::text AS backend`;
/**
 * Which connection asks, in each round: alternating (a pooler that reuses the last released
 * server first, PgBouncer's default, shows itself at once) and twice in a row on each (one
 * that reuses the oldest released server first, `server_round_robin`, shows itself there).
 */
const SEQUENCE = [0, 1, 0, 0, 1, 1] as const;
const ROUNDS = 3;

/**
 * Whether the pool's connections go through a pooler in transaction (or statement) mode,
 * i.e. whether the server session behind one client connection may change between
 * transactions, which breaks named prepared statements and LISTEN.
 *
 * How: two client connections ask which server session they are talking to (pid, server
 * address and start time), in turn and twice in a row each, each query its own transaction. A direct connection (or a session-mode pooler) keeps one backend for its
 * whole life, so each connection always sees the same pid and the two pids differ: there
 * are no false positives. A transaction pooler hands a released server to the next client:
 * one connection sees several sessions, or both see the same one. PgBouncer reuses the last
 * released server first, so the second query of the first round already shows it; with
 * `server_round_robin` it reuses the oldest, which two queries in a row on one connection
 * show.
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
    const seen: Array<Set<string>> = [new Set(), new Set()];
    for (let round = 0; round < ROUNDS; round++) {
      for (const i of SEQUENCE) {
        const { rows } = await clients[i]!.query(BACKEND_SQL);
        seen[i]!.add(rows[0]!.backend);
        const [a, b] = seen as [Set<string>, Set<string>];
        if (a.size > 1 || b.size > 1 || [...a].some((backend) => b.has(backend))) return true;
      }
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
