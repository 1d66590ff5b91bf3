import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';

/** The database's own counters at one instant (cumulative; a step reports differences). */
export interface DbSnapshot {
  at: number;
  /** pg_stat_database of the bench database (flushed by backends about once a second). */
  xactCommit: number;
  xactRollback: number;
  /**
   * The next transaction id: it advances once per transaction that wrote (read-only ones get
   * no id), exactly and at once, unlike pg_stat_database, which backends flush lazily.
   */
  nextXid: number;
  /** pg_current_wal_lsn(), as bytes: exact WAL written between two snapshots. */
  walLsn: bigint;
  /** pg_stat_wal (cluster-wide, flushed like the above). */
  walRecords: number;
  walFpi: number;
  walBuffersFull: number;
  /**
   * WAL fsyncs and the milliseconds they took, all processes (pg_stat_io, object 'wal';
   * the time needs track_wal_io_timing, which the bench turns on for its database).
   */
  walFsyncs: number;
  walFsyncMs: number;
  /** CPU seconds of the postmaster and its children (null when the server is not on this host). */
  cpuSec: number | null;
}

/**
 * CPU of a PostgreSQL server on this host, read from /proc: the postmaster's own time,
 * the time of its children that already exited (the postmaster reaps them, so the kernel
 * adds their time to its cutime/cstime), and the time of its live children (backends,
 * WAL writer, checkpointer, ...). pg_stat_* has no CPU figure; this is the only way to
 * charge the database its CPU without an extension.
 */
export class PostgresCpu {
  private constructor(private readonly postmaster: number, private readonly ticksPerSec: number) {}

  /** Finds the postmaster from a backend's pid (its parent); null when that is not a local postgres. */
  static async find(pool: pg.Pool): Promise<PostgresCpu | null> {
    const backend = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      const ppid = statFields(backend)[1]!;
      const comm = readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
      if (comm !== 'postgres') return null;
      let ticks = 100;
      try {
        ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
      } catch {
        // getconf missing: Linux has used 100 for decades.
      }
      return new PostgresCpu(Number(ppid), ticks);
    } catch {
      return null;
    }
  }

  get pid(): number {
    return this.postmaster;
  }

  seconds(): number {
    const own = statFields(this.postmaster);
    // Fields after the command: [0] state, [1] ppid, ..., [11] utime, [12] stime, [13] cutime, [14] cstime.
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let fields: string[];
      try {
        fields = statFields(Number(entry));
      } catch {
        continue; // exited while we looked
      }
      if (Number(fields[1]) === this.postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / this.ticksPerSec;
  }
}

/** /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

export async function snapshot(pool: pg.Pool, cpu: PostgresCpu | null): Promise<DbSnapshot> {
  const db = (await pool.query<{ xact_commit: string; xact_rollback: string }>(
    'SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()',
  )).rows[0]!;
  const xid = (await pool.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x')).rows[0]!;
  const wal = (await pool.query<{ lsn: string; wal_records: string; wal_fpi: string; wal_buffers_full: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS lsn, wal_records, wal_fpi, wal_buffers_full FROM pg_stat_wal`,
  )).rows[0]!;
  // WAL rows in pg_stat_io exist from PostgreSQL 18 (the view from 16): older servers show 0.
  const io = await pool
    .query<{ fsyncs: string | null; fsync_time: number | null }>(
      `SELECT sum(fsyncs)::text AS fsyncs, sum(fsync_time)::float8 AS fsync_time FROM pg_stat_io WHERE object = 'wal'`,
    )
    .then((r) => r.rows[0]!, () => ({ fsyncs: null, fsync_time: null }));
  return {
    at: Number(process.hrtime.bigint()),
    xactCommit: Number(db.xact_commit),
    xactRollback: Number(db.xact_rollback),
    nextXid: Number(xid.x),
    walLsn: BigInt(wal.lsn.split('.')[0]!),
    walRecords: Number(wal.wal_records),
    walFpi: Number(wal.wal_fpi),
    walBuffersFull: Number(wal.wal_buffers_full),
    walFsyncs: Number(io.fsyncs ?? 0),
    walFsyncMs: Number(io.fsync_time ?? 0),
    cpuSec: cpu ? cpu.seconds() : null,
  };
}

/** What the database's sessions were doing, sampled over a step (see {@link WaitSampler}). */
export interface WaitProfile {
  samples: number;
  /** Mean client backends of the bench database that were active (running a statement). */
  activeMean: number;
  /** Mean client backends idle inside a transaction (waiting for their app node's next statement). */
  idleInTransactionMean: number;
  /** Share of active-backend samples per wait, e.g. 'CPU' (no wait: running or runnable), 'Lock:object', 'IO:WALSync'. */
  active: Record<string, number>;
  /** Highest pg_notification_queue_usage() seen (fraction of the 8 GB NOTIFY queue). */
  notifyQueueUsageMax: number;
}

/**
 * Samples pg_stat_activity and pg_notification_queue_usage() every `everyMs` on one
 * connection of its own. An active backend without a wait event is on a CPU (or waiting
 * for one); a COMMIT that sends a NOTIFY takes a cluster-wide lock on the notification
 * queue, seen as 'Lock:object'; WAL flushes as 'IO:WALSync' / 'LWLock:WALWrite'.
 */
export class WaitSampler {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private samples = 0;
  private active = 0;
  private idleInTx = 0;
  private readonly waits = new Map<string, number>();
  private queueMax = 0;
  private failure: Error | null = null;

  constructor(private readonly pool: pg.Pool, private readonly database: string, private readonly everyMs = 100) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const rows = (await this.pool.query<{ state: string; w: string; n: number }>(
        `SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*)::int AS n
           FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
            AND state IN ('active', 'idle in transaction')
          GROUP BY 1, 2`,
        [this.database],
      )).rows;
      const q = (await this.pool.query<{ u: number }>('SELECT pg_notification_queue_usage()::float8 AS u')).rows[0]!.u;
      this.samples++;
      this.queueMax = Math.max(this.queueMax, q);
      for (const r of rows) {
        if (r.state === 'active') {
          this.active += r.n;
          this.waits.set(r.w, (this.waits.get(r.w) ?? 0) + r.n);
        } else {
          this.idleInTx += r.n;
        }
      }
    } catch (err) {
      this.failure = err as Error;
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<WaitProfile> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await new Promise((resolve) => setImmediate(resolve));
    if (this.failure) throw this.failure;
    const active: Record<string, number> = {};
    for (const [w, n] of [...this.waits].sort((a, b) => b[1] - a[1])) active[w] = this.active > 0 ? n / this.active : 0;
    return {
      samples: this.samples,
      activeMean: this.samples > 0 ? this.active / this.samples : 0,
      idleInTransactionMean: this.samples > 0 ? this.idleInTx / this.samples : 0,
      active,
      notifyQueueUsageMax: this.queueMax,
    };
  }
}
