// Many app nodes on one database (issue 16). Usage (see docs/scaling.md):
//   npm run bench:cluster                  N = 1, 2, 4, 8 app node processes, then the write share raised
//                                          at 4 nodes; writes bench/cluster-results.json and docs/cluster-curve.svg
//   npm run bench:cluster -- --nodes=1,2,4 --saturation-nodes=2 --write-shares=4,50 --measure=10
//   node build/bench/cluster/main.js --replot   re-derives the verdict, table and SVG from bench/cluster-results.json
//   npm run bench:cluster:smoke            tiny sizes, N = 1, 2 (CI): fails if a node fails, does
//                                          nothing, or an invalidation is never applied
import 'reflect-metadata';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uuidFor } from '../data.js';
import { bulkInsertSessions, createBenchDatabase, type BenchDatabase } from '../db.js';
import { startBenchNode } from '../peers/ours.js';
import { PostgresCpu } from './db-counters.js';
import { POPULATION_SALT, type Mix } from './protocol.js';
import { markdown, plot, verdictFor, type ClusterConfig, type ClusterResults } from './report.js';
import { Cluster, type StepResult, type StepSettings } from './step.js';

const started = Date.now();
function progress(line: string): void {
  process.stderr.write(`[bench:cluster ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

function flag(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function numbers(name: string, fallback: number[], valid: (x: number) => boolean, what: string): number[] {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  const xs = raw.split(',').map(Number);
  // Increasing: the curve's first write share is its mix, and the saturation verdict compares each step with the one before.
  if (!xs.every(valid) || xs.some((x, k) => k > 0 && x <= xs[k - 1]!)) throw new Error(`--${name} must be an increasing comma-separated list of ${what}, got ${raw}`);
  return xs;
}

function number(name: string, fallback: number, valid: (x: number) => boolean, what: string): number {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (!valid(x)) throw new Error(`--${name} must be ${what}, got ${raw}`);
  return x;
}

const FLAGS = ['nodes', 'saturation-nodes', 'write-shares', 'population', 'in-flight', 'warmup', 'measure'];
// A mistyped flag (`--node=4`, `--nodes 4`) would otherwise be ignored and start the full run.
for (const arg of process.argv.slice(2)) {
  if (arg !== '--smoke' && arg !== '--replot' && !FLAGS.some((name) => arg.startsWith(`--${name}=`))) {
    throw new Error(`unknown argument ${arg}: use --smoke, --replot or --<name>=<value> with a name of ${FLAGS.join(', ')}`);
  }
}

const smoke = process.argv.includes('--smoke');

// `--replot`: rewrites docs/cluster-curve.svg from bench/cluster-results.json (after a change to the plot).
if (process.argv.includes('--replot')) {
  const file = new URL('../../../bench/cluster-results.json', import.meta.url);
  const results = JSON.parse(readFileSync(file, 'utf8')) as ClusterResults;
  Object.assign(results.saturation, verdictFor(results.saturation.steps, results.environment.cpus));
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(new URL('../../../docs/cluster-curve.svg', import.meta.url), plot(results));
  process.stdout.write(`${markdown(results)}\n`);
  process.exit(0);
}
const positiveInt = (x: number): boolean => Number.isInteger(x) && x >= 1 && x <= 64;
const config: ClusterConfig = {
  nodes: numbers('nodes', smoke ? [1, 2] : [1, 2, 4, 8], positiveInt, 'node counts from 1 to 64'),
  saturationNodes: number('saturation-nodes', smoke ? 2 : 4, positiveInt, 'a node count from 1 to 64'),
  writeShares: numbers('write-shares', smoke ? [4, 50] : [4, 20, 50, 100], (x) => x > 0 && x <= 100, 'percentages in (0, 100]').map((x) => x / 100),
  churnShare: 0.01,
  population: number('population', smoke ? 300 : 5_000, (x) => Number.isInteger(x) && x >= 10, 'an integer >= 10'),
  inFlightPerNode: number('in-flight', 8, positiveInt, 'an integer from 1 to 64'),
  warmupSec: number('warmup', smoke ? 1 : 3, (x) => x >= 0, 'seconds >= 0'),
  measureSec: number('measure', smoke ? 2 : 15, (x) => x > 0, 'seconds > 0'),
};

/** The mix at a write share: 1% create/delete while it fits, the rest reads. */
function mixAt(writeShare: number): Mix {
  return { writeShare, churnShare: Math.min(config.churnShare, 1 - writeShare) };
}

// Drops the bench's database once (from main's finally, or on a signal).
let dropDatabase: (() => Promise<void>) | null = null;

// Ctrl-C, or the SIGTERM of a CI timeout, skips main's finally: drop the database here, as on
// a DATABASE_URL server nobody else removes it (the embedded server goes with its data
// directory). The node processes end by themselves once this process is gone. A second
// signal ends the process at once (`once`), should the server not answer.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    progress(`${signal}: dropping the bench database, then exiting`);
    void (dropDatabase?.() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(code));
  });
}

async function main(): Promise<number> {
  const loadavgStart = loadavg();
  progress(`${smoke ? 'smoke' : 'full'} run: nodes ${config.nodes.join(',')}, write shares ${config.writeShares.map((x) => `${x * 100}%`).join(',')} at ${config.saturationNodes} nodes, ` +
    `${config.population} sessions, ${config.warmupSec} s + ${config.measureSec} s per step; load average ${loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);
  let db: BenchDatabase | undefined;
  try {
    db = await createBenchDatabase();
    let dropping: Promise<void> | null = null;
    const created = db;
    dropDatabase = () => (dropping ??= created.drop());
    const setting = async (name: string): Promise<string> => (await db!.admin.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]!.v;
    const pgVersion = `PostgreSQL ${await setting('server_version')}`;
    const settings: Record<string, string> = {};
    for (const name of ['fsync', 'synchronous_commit', 'wal_level', 'shared_buffers', 'max_connections', 'checkpoint_timeout', 'max_wal_size']) settings[name] = await setting(name);
    progress(`database ${db.name} on ${pgVersion} (${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ')})`);
    // WAL fsync durations in pg_stat_io, for the node processes' sessions (superuser setting,
    // set on the bench's own database only; the embedded server's user is a superuser).
    await db.admin.query(`ALTER DATABASE "${db.name}" SET track_wal_io_timing = on`).catch((err: Error) => progress(`track_wal_io_timing stays off (WAL fsync times unmeasured): ${err.message}`));
    const cpu = await PostgresCpu.find(db.admin);
    const dbCpuSource = cpu
      ? `/proc/<pid>/stat of the postmaster (pid ${cpu.pid}: its own time, its exited children's cutime/cstime) and of its live children`
      : 'not measured: the server is not a postgres process on this host';
    progress(`database CPU: ${dbCpuSource}`);

    // Schema by a node of the library itself, then the population (+1: the barrier's marker session).
    const setup = await startBenchNode('setup', { connectionString: db.url, createSchemaIfMissing: true });
    await setup.close();
    await bulkInsertSessions(db.admin, { sessions: 'sessions', attributes: 'session_attributes' }, config.population + 1, (i) => uuidFor(POPULATION_SALT, i));

    const settingsForSteps: StepSettings = {
      url: db.url, database: db.name, admin: db.admin, cpu, population: config.population, inFlight: config.inFlightPerNode,
      warmupSec: config.warmupSec, measureSec: config.measureSec, progress,
    };
    const prepare = async (): Promise<void> => {
      // Steps start from the same state: dead row versions of the last step vacuumed, and a
      // checkpoint now so the full-page images it causes fall mostly into the warm-up.
      await db!.admin.query('VACUUM (ANALYZE) sessions, session_attributes');
      await db!.admin.query('CHECKPOINT');
    };

    // The curve's steps in order; the saturation steps run on the curve's cluster of
    // `saturationNodes` right after its own step (same processes, caches warm), or on a
    // cluster of their own when the curve has no such N.
    const total = config.nodes.length + config.writeShares.length - (config.nodes.includes(config.saturationNodes) ? 1 : 0);
    let done = 0;
    const curve: StepResult[] = [];
    const satSteps: StepResult[] = [];
    const saturate = async (cluster: Cluster, first: StepResult | null): Promise<void> => {
      for (const w of config.writeShares) {
        if (first && first.mix.writeShare === w) {
          satSteps.push(first);
          continue;
        }
        await prepare();
        satSteps.push(await cluster.measure(mixAt(w), `step ${++done}/${total} N=${cluster.nodes}, ${w * 100}% writes`));
      }
    };
    for (const n of config.nodes) {
      const label = `step ${++done}/${total} N=${n}, ${config.writeShares[0]! * 100}% writes`;
      await prepare();
      const cluster = await Cluster.start(settingsForSteps, n, label);
      try {
        const result = await cluster.measure(mixAt(config.writeShares[0]!), label);
        curve.push(result);
        if (n === config.saturationNodes) await saturate(cluster, result);
        await cluster.close();
      } finally {
        cluster.kill();
      }
    }
    if (!config.nodes.includes(config.saturationNodes)) {
      await prepare();
      const cluster = await Cluster.start(settingsForSteps, config.saturationNodes, `saturation at N=${config.saturationNodes}`);
      try {
        await saturate(cluster, null);
        await cluster.close();
      } finally {
        cluster.kill();
      }
    }
    const cores = cpus().length;
    const { brokeAt, verdict } = verdictFor(satSteps, cores);

    const results: ClusterResults = {
      environment: {
        mode: smoke ? 'smoke' : 'full',
        node: process.version,
        cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
        cpus: cores,
        postgres: pgVersion,
        settings,
        dbCpuSource,
        clock: 'process.hrtime (CLOCK_MONOTONIC, one clock for all processes of the host; checked per step by a ping from the coordinator)',
        startedAt: new Date(started).toISOString(),
        durationSec: (Date.now() - started) / 1000,
        loadavgStart,
        loadavgEnd: loadavg(),
      },
      config,
      curve,
      saturation: { nodes: config.saturationNodes, steps: satSteps, brokeAt, verdict },
    };
    process.stdout.write(`${markdown(results)}\n`);
    // The smoke run writes next to the build, so CI never changes the committed figures.
    const json = smoke ? new URL('../../../build/bench/cluster-results.smoke.json', import.meta.url) : new URL('../../../bench/cluster-results.json', import.meta.url);
    const svg = smoke ? new URL('../../../build/bench/cluster-curve.smoke.svg', import.meta.url) : new URL('../../../docs/cluster-curve.svg', import.meta.url);
    for (const [url, text] of [[json, `${JSON.stringify(results, null, 2)}\n`], [svg, plot(results)]] as const) {
      mkdirSync(dirname(fileURLToPath(url)), { recursive: true });
      writeFileSync(url, text);
      progress(`wrote ${fileURLToPath(url)}`);
    }
    progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    return 0;
  } finally {
    await dropDatabase?.();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:cluster failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
