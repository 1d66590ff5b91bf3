import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CommandBody, NodeConfig, NodeEvent, Reply } from './protocol.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string; timer: NodeJS.Timeout };

/**
 * The longest a node may take to start or to answer one command. Far above what any
 * command needs (warming 5,000 sessions, a 30 s marker wait, closing), so only a hung node
 * (stopped, deadlocked, a request stuck on the database) reaches it: the run then fails
 * instead of hanging CI until the job's own limit.
 */
const ANSWER_TIMEOUT_MS = 120_000;

/**
 * The coordinator's handle on one node process (bench/cluster/node.ts). A node that exits
 * before it was closed fails every pending and later call, so the run stops with its reason.
 */
export class NodeProcess {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private exitError: Error | null = null;
  private closing = false;
  readonly exited: Promise<number | null>;

  private constructor(readonly name: string, private readonly child: ChildProcess) {
    child.on('message', (message: Reply | NodeEvent) => {
      if (!('id' in message)) return;
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      clearTimeout(call.timer);
      if ('error' in message) call.reject(Object.assign(new Error(`${name} ${call.op}: ${message.error.message}`), { name: message.error.name }));
      else call.resolve(message.result);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.closing || code !== 0) {
          this.exitError = new Error(`node process ${name} exited${this.closing ? ' while closing' : ''} with ${signal ?? `code ${code}`}`);
          for (const call of this.pending.values()) {
            clearTimeout(call.timer);
            call.reject(this.exitError);
          }
          this.pending.clear();
        }
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Forks a node and resolves once its Nest application context is up. */
  static async start(config: NodeConfig): Promise<NodeProcess> {
    const script = fileURLToPath(new URL('./node.js', import.meta.url));
    const child = fork(script, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const node = new NodeProcess(config.name, child);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const onMessage = (m: Reply | NodeEvent): void => {
          if ('event' in m) {
            child.off('message', onMessage);
            if (m.event === 'ready') resolve();
            else reject(new Error(`node ${config.name} failed to start: ${m.message}`));
          }
        };
        child.on('message', onMessage);
        void node.exited.then(() => reject(node.exitError ?? new Error(`node ${config.name} exited before it was ready`)));
        timer = setTimeout(() => reject(new Error(`node ${config.name} was not ready within ${ANSWER_TIMEOUT_MS / 1000} s`)), ANSWER_TIMEOUT_MS);
      });
    } catch (err) {
      // Not handed to a cluster, so nobody else would end it.
      node.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return node;
  }

  call<T>(command: CommandBody): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`node process ${this.name} did not answer '${command.op}' within ${ANSWER_TIMEOUT_MS / 1000} s (hung?)`));
      }, ANSWER_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op: command.op, timer });
      this.child.send({ ...command, id });
    });
  }

  /** Closes the node's application context and waits for the process to end (exit code 0 expected). */
  async close(): Promise<void> {
    if (this.exitError) throw this.exitError;
    this.closing = true;
    await this.call({ op: 'close' });
    // app.close() must leave nothing running, so the process ends by itself once it disconnects.
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited,
      new Promise<'hung'>((resolve) => { timer = setTimeout(() => resolve('hung'), 30_000); }),
    ]).finally(() => clearTimeout(timer));
    if (code === 'hung') {
      this.kill();
      throw new Error(`node process ${this.name} was still running 30 s after its application context closed (a timer or socket left open?)`);
    }
    if (code !== 0) throw this.exitError ?? new Error(`node process ${this.name} exited with code ${code}`);
  }

  /** Ends a node that is not closing by itself (after another node failed). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.closing = true;
      this.child.kill('SIGKILL');
    }
  }
}
