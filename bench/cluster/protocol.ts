/**
 * Messages between the cluster bench's coordinator (bench/cluster/main.ts) and its node
 * processes (bench/cluster/node.ts), over the IPC channel of child_process.fork.
 *
 * Times are `process.hrtime.bigint()` nanoseconds as numbers. On Linux that clock is
 * CLOCK_MONOTONIC, one clock for every process of the host, so a time taken in one node
 * can be compared with a time taken in another; the coordinator checks this at the
 * start of each step with a ping (see {@link ClockReply}).
 */

/** What a node is started with (argv[2], JSON). */
export interface NodeConfig {
  name: string;
  url: string;
  /** Sessions of the shared population (ids from bench/data.ts, salt {@link POPULATION_SALT}). */
  population: number;
  cacheSize: number;
  /** Concurrent request loops of this node (closed loop: each starts its next op when one ends). */
  inFlight: number;
  /** Seeds this node's key choice and mix. */
  seed: number;
}

/** The request mix of a load phase, as shares of operations (the rest are reads). */
export interface Mix {
  /** updateSession of one attribute (after a getSession). */
  writeShare: number;
  /** createSession or deleteSession, alternately. */
  churnShare: number;
}

export type Command =
  | { id: number; op: 'warm' }
  | { id: number; op: 'clock' }
  /** process.cpuUsage() now, user + system, µs. */
  | { id: number; op: 'cpu' }
  | { id: number; op: 'load'; mix: Mix }
  /** Starts the window; `since` is the coordinator's time just before it sent the marks. */
  | { id: number; op: 'mark'; since: number }
  | { id: number; op: 'stop' }
  | { id: number; op: 'write-marker' }
  | { id: number; op: 'wait-marker'; since: number; timeoutMs: number }
  | { id: number; op: 'report' }
  | { id: number; op: 'close' };

export interface ClockReply { t: number }

/** Counters of one node over its measurement window (from `mark` to `stop`). */
export interface NodeCounters {
  name: string;
  windowSec: number;
  reads: number;
  writes: number;
  creates: number;
  deletes: number;
  /** Errors by name (any is a failure of the run). */
  errors: Record<string, number>;
  /** process.cpuUsage() over the window, user + system, seconds. */
  cpuSec: number;
  cacheHits: number;
  cacheMisses: number;
  notificationsReceived: number;
}

/**
 * Logs of the window for the latency join: each write as [population index, time the
 * updateSession call started, time it resolved (commit acknowledged)], each change heard
 * as [population index, time changes$ emitted it (after the cache applied it)].
 */
export interface NodeLogs {
  writes: number[];
  changes: number[];
  /** Changes naming sessions outside the population (creates and deletes of the churn). */
  otherChanges: number;
}

export type Reply =
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string } };

export type NodeEvent = { event: 'ready' } | { event: 'failed'; message: string };

/** The population's ids: uuidFor(POPULATION_SALT, i); the last one is the barrier's marker session. */
export const POPULATION_SALT = 'cluster';

/** A command without its id (each variant keeps its own fields). */
export type CommandBody = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;
