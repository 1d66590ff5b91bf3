// Usage: node scripts/sample-cluster.mjs   (npm run sample:cluster runs it under with-postgres.mjs)
// Starts two nodes of the sample app over one DATABASE_URL, on PORT and PORT + 1
// (default 3000 and 3001). Log in on one, revoke on the other: the first rejects
// the cookie at once. Ctrl-C stops both.
import { spawn } from 'node:child_process';

if (!process.env.DATABASE_URL) {
  console.error('DATABASE_URL is unset: run `npm run sample:cluster`, which starts an embedded PostgreSQL.');
  process.exit(2);
}
const basePort = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const nodes = [];
let stopping = false;

function start(name, port) {
  const child = spawn(process.execPath, ['build/sample/main.js'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a Ctrl-C in the terminal reaches the nodes once, through
    // stop() below, instead of twice (which would cut Nest's graceful shutdown short).
    detached: true,
    env: { ...process.env, PORT: String(port), HOST: host, NODE_NAME: name },
  });
  const prefix = (stream, out) => {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) out.write(`[${name}] ${line}\n`);
    });
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  const node = { name, port, child, exited };
  nodes.push(node);
  exited.then((code) => {
    if (!stopping) {
      console.error(`[cluster] ${name} exited with code ${code}; stopping the other node.`);
      stop('SIGTERM', code || 1);
    }
  });
  return node;
}

/** Resolves once GET / answers on the node, or rejects when it exits first. */
async function ready(node) {
  const url = `http://${host}:${node.port}/`;
  for (;;) {
    if (node.child.exitCode !== null) throw new Error(`${node.name} exited before it was ready`);
    try {
      const response = await fetch(url, { headers: { connection: 'close' } });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(signal, code = 0) {
  if (stopping) return;
  stopping = true;
  for (const node of nodes) if (node.child.exitCode === null) node.child.kill(signal);
  await Promise.all(nodes.map((node) => node.exited));
  process.exit(code);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Last resort if this script ends some other way: never leave a node running.
process.on('exit', () => {
  for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
});

// The first node creates the schema; the second starts once the first answers.
const a = start('node-a', basePort);
await ready(a);
const b = start('node-b', basePort + 1);
await ready(b);
console.log(`[cluster] two nodes over one database:\n  node-a  http://${host}:${basePort}/\n  node-b  http://${host}:${basePort + 1}/`);
console.log('[cluster] cookies are per host, not per port: both tabs share one login. Ctrl-C stops both nodes.');
