import type { StepResult } from './step.js';
import { chart, type Panel } from './svg.js';

export interface ClusterEnvironment {
  mode: 'full' | 'smoke';
  node: string;
  cpu: string;
  cpus: number;
  postgres: string;
  settings: Record<string, string>;
  /** How the database's CPU was read (or why not). */
  dbCpuSource: string;
  clock: string;
  startedAt: string;
  durationSec: number;
  loadavgStart: number[];
  loadavgEnd: number[];
}

export interface ClusterConfig {
  nodes: number[];
  saturationNodes: number;
  writeShares: number[];
  churnShare: number;
  population: number;
  inFlightPerNode: number;
  warmupSec: number;
  measureSec: number;
}

export interface Saturation {
  nodes: number;
  steps: StepResult[];
  /** The first step that broke (p99 or throughput), or null. */
  brokeAt: number | null;
  verdict: string;
}

export interface ClusterResults {
  environment: ClusterEnvironment;
  config: ClusterConfig;
  curve: StepResult[];
  saturation: Saturation;
}

const pct = (x: number): string => `${+(x * 100).toFixed(1)}%`;
const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 2 : 1) : '—');
const n0 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const n2 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(2));

function topWaits(s: StepResult, k = 3): string {
  return Object.entries(s.db.waits.active).slice(0, k).map(([w, share]) => `${w} ${pct(share)}`).join(', ') || '—';
}

const WAL_WAITS = ['io:walsync', 'io:walwrite', 'lwlock:walwrite', 'lwlock:walinsert', 'io:walinitsync', 'io:walinitwrite'];

function share(s: StepResult, pred: (w: string) => boolean): number {
  return Object.entries(s.db.waits.active).filter(([w]) => pred(w)).reduce((a, [, v]) => a + v, 0);
}

/**
 * Names what limits a step from the database's own counters: the share of active
 * backends' samples waiting on NOTIFY's commit lock ('Lock:object': a committing
 * transaction that notified holds a cluster-wide lock on the queue until its commit
 * record is flushed), on the notification queue's buffers ('LWLock:Notify*'), on WAL
 * writes and flushes, or running (no wait: CPU); with the CPU the database and the
 * nodes used against the host's cores.
 */
export function cause(s: StepResult, cores: number): string {
  const notifyLock = share(s, (w) => w === 'Lock:object');
  const notifyQueue = share(s, (w) => w.toLowerCase().startsWith('lwlock:notify'));
  const wal = share(s, (w) => WAL_WAITS.includes(w.toLowerCase()));
  const cpu = share(s, (w) => w === 'CPU');
  const busy = (s.db.cpuCores ?? 0) + s.nodeCpuCores + s.observer.cpuCores;
  const parts = [
    `NOTIFY commit lock ${pct(notifyLock)}`,
    `NOTIFY queue buffers ${pct(notifyQueue)}`,
    `WAL write/flush ${pct(wal)}`,
    `running on CPU ${pct(cpu)} of active backends' samples`,
    `${n0(s.db.writeXactsPerSec)} writing transactions/s × ${n2(s.db.walFsyncMeanMs)} ms per WAL fsync = ${pct((s.db.writeXactsPerSec * s.db.walFsyncMeanMs) / 1000)} of the time inside a flush`,
  ];
  // The NOTIFY lock is held until the commit record is flushed, so its waiters queue behind
  // one WAL flush at a time: the two together are one cause, notifying commits in series.
  const ranked = [
    { name: "notifying commits in series: NOTIFY's cluster-wide commit lock held across each commit's WAL flush", v: notifyLock + wal },
    { name: 'the NOTIFY queue buffers', v: notifyQueue },
  ].sort((a, b) => b.v - a.v);
  const cpuText = `CPU: database ${n2(s.db.cpuCores)} + app nodes ${n2(s.nodeCpuCores + s.observer.cpuCores)} = ${n2(busy)} of ${cores} cores, ` +
    `${n2(s.db.waits.activeMean)} backends active and ${n2(s.db.waits.idleInTransactionMean)} idle in a transaction on average`;
  const lead = ranked[0]!.v >= 0.25 && ranked[0]!.v >= cpu ? ranked[0]!.name : 'CPU';
  return `${lead} (${parts.join(', ')}; ${cpuText})`;
}

/** The first saturation step whose p99 grew 5× over the first step's, or whose write rate stopped growing. */
export function findBreak(steps: StepResult[]): number | null {
  const base = steps[0];
  if (!base) return null;
  for (let k = 1; k < steps.length; k++) {
    const s = steps[k]!;
    const prev = steps[k - 1]!;
    if (s.invalidation.p99Us > 5 * base.invalidation.p99Us) return k;
    if (s.writesPerSec < 1.1 * prev.writesPerSec) return k;
  }
  return null;
}

function row(s: StepResult, first: string): string {
  return `| ${first} | ${n0(s.readsPerSec)} | ${n0(s.writesPerSec)} | ${pct(s.cacheHitRatio)} | ${ms(s.invalidation.p50Us)} / ${ms(s.invalidation.p99Us)} / ${ms(s.invalidation.maxUs)} | ${ms(s.invalidation.fromCallP99Us)} | ` +
    `${n0(s.notificationsPerNodePerSec)} | ${n2(s.nodeCpuCores)} | ${n0(s.opsPerNodeCpuSec)} | ${n0(s.db.commitsPerSec)} | ${n0(s.db.writeXactsPerSec)} (${n2(s.db.writesPerWriteXact)}) | ${n0(s.db.walFsyncsPerSec)} × ${n2(s.db.walFsyncMeanMs)} | ${n2(s.db.cpuCores)} | ${n2(s.db.cpuSecPer1000Writes)} | ` +
    `${n0(s.db.walBytesPerWrite)} | ${s.db.waits.notifyQueueUsageMax.toExponential(1)} | ${n0(s.observer.cpuUsPerNotification)} |`;
}

const HEADER =
  '| reads/s | writes/s | cache hits | invalidation after ack p50 / p99 / max, ms | after call start p99, ms | notifications/s per node | node CPU, cores | ops per node CPU-s | DB commits/s | DB write xacts/s (updates per xact) | WAL fsyncs/s × mean ms | DB CPU, cores | DB CPU-s per 1k writes | WAL B per write | NOTIFY queue max | µs CPU per notification (listen-only node) |\n' +
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';

export function markdown(r: ClusterResults): string {
  const e = r.environment;
  const lines = [
    `## Cluster bench (${e.mode}): ${e.cpus} × ${e.cpu}, ${e.postgres}, Node ${e.node}; load average ${e.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at start, ${e.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at end`,
    '',
    `Population ${r.config.population} sessions shared by all nodes; ${r.config.inFlightPerNode} closed request loops per node; ${r.config.warmupSec} s warm-up + ${r.config.measureSec} s measured per step; caches warm. Invalidation latency: writer's commit acknowledgement → last other node (and a listen-only observer) applied it, ${e.clock}.`,
    '',
    `### Adding nodes (${pct(r.curve[0]?.mix.writeShare ?? 0)} updates, ${pct(r.curve[0]?.mix.churnShare ?? 0)} create/delete, rest getSession)`,
    '',
    `| nodes ${HEADER}`,
    ...r.curve.map((s) => row(s, String(s.nodes))),
    '',
    `### Raising the write share at ${r.saturation.nodes} nodes`,
    '',
    `| updates ${HEADER}`,
    ...r.saturation.steps.map((s) => row(s, pct(s.mix.writeShare))),
    '',
    '| updates | what the database waited on (share of active backends\' samples) |',
    '|---:|---|',
    ...r.saturation.steps.map((s) => `| ${pct(s.mix.writeShare)} | ${topWaits(s, 4)} |`),
    '',
    `**First to saturate:** ${r.saturation.verdict}`,
  ];
  return lines.join('\n');
}

export function plot(r: ClusterResults): string {
  const curve = r.curve;
  const sat = r.saturation.steps;
  const panels: Panel[] = [
    {
      title: `Adding app nodes (${pct(curve[0]?.mix.writeShare ?? 0)} writes)`,
      xLabel: 'app node processes on one PostgreSQL',
      x: curve.map((s) => String(s.nodes)),
      leftLabel: 'operations per second',
      rightLabel: 'invalidation p99, ms',
      series: [
        { name: 'ops/s, all nodes', values: curve.map((s) => s.opsPerSec), axis: 'left', color: '#1f77b4' },
        { name: 'ops per node CPU-second', values: curve.map((s) => s.opsPerNodeCpuSec), axis: 'left', color: '#2ca02c', dashed: true },
        { name: 'invalidation p99', values: curve.map((s) => s.invalidation.p99Us / 1000), axis: 'right', color: '#d62728' },
      ],
    },
    {
      title: `Raising the write share (${r.saturation.nodes} nodes)`,
      xLabel: 'share of operations that are updateSession',
      x: sat.map((s) => pct(s.mix.writeShare)),
      leftLabel: 'writes per second',
      rightLabel: 'invalidation p99, ms',
      series: [
        { name: 'writes/s, all nodes', values: sat.map((s) => s.writesPerSec), axis: 'left', color: '#ff7f0e' },
        { name: 'DB write transactions/s', values: sat.map((s) => s.db.writeXactsPerSec), axis: 'left', color: '#8c564b', dashed: true },
        { name: 'invalidation p99', values: sat.map((s) => s.invalidation.p99Us / 1000), axis: 'right', color: '#d62728' },
      ],
    },
  ];
  const e = r.environment;
  return chart(panels, `npm run bench:cluster, ${e.startedAt.slice(0, 16).replace('T', ' ')} UTC: ${e.cpus} vCPU shared by PostgreSQL and all nodes (load average ${e.loadavgStart[0]!.toFixed(1)} at start), ${e.postgres.split(' (')[0]}`);
}

/**
 * The saturation step's verdict: the first step that broke ({@link findBreak}) and its
 * cause, or, when none broke, what the last step was closest to exhausting.
 */
export function verdictFor(steps: StepResult[], cores: number): { brokeAt: number | null; verdict: string } {
  const brokeAt = findBreak(steps);
  const at = steps[brokeAt ?? steps.length - 1]!;
  const base = steps[0]!;
  const w = (x: StepResult): string => `${+(x.mix.writeShare * 100).toFixed(1)}%`;
  const figures = `${at.writesPerSec.toFixed(0)} writes/s in ${at.db.writeXactsPerSec.toFixed(0)} writing transactions/s, invalidation p99 ${(at.invalidation.p99Us / 1000).toFixed(1)} ms`;
  const verdict = brokeAt === null
    ? `nothing broke up to ${w(at)} writes (${figures}; ${(base.invalidation.p99Us / 1000).toFixed(1)} ms at ${w(base)}); what the last step was closest to exhausting: ${cause(at, cores)}`
    : `at ${w(at)} writes (${figures}, against ${(base.invalidation.p99Us / 1000).toFixed(1)} ms at ${w(base)}): ${cause(at, cores)}`;
  return { brokeAt, verdict };
}
