import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SessionNotFoundError } from '../../lib/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { nextChange, startNode, type TestNode } from '../support/nodes.js';

interface ChildMessage {
  id?: number;
  event?: 'ready' | 'change';
  change?: { type: string; ids: string[] };
  result?: any;
  error?: { name: string; message: string };
}

/** A node running in a child process, with a tiny request/response protocol. */
class ChildNode {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly changeWaiters: Array<{ matches: (ids: string[]) => boolean; resolve: () => void }> = [];

  constructor(readonly process: ChildProcess) {
    process.on('message', (message: ChildMessage) => {
      if (message.event === 'change') {
        for (const waiter of [...this.changeWaiters]) {
          if (waiter.matches(message.change!.ids)) {
            this.changeWaiters.splice(this.changeWaiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      } else if (message.id !== undefined) {
        const call = this.pending.get(message.id)!;
        this.pending.delete(message.id);
        if (message.error) call.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
        else call.resolve(message.result);
      }
    });
  }

  static async start(url: string): Promise<ChildNode> {
    const child = fork(fileURLToPath(new URL('../support/child-node.js', import.meta.url)), [url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const node = new ChildNode(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: ChildMessage) => (m.event === 'ready' ? resolve() : reject(new Error('unexpected first message'))));
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    return node;
  }

  call(command: Record<string, unknown>): Promise<any> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.process.send({ id, ...command });
    });
  }

  /** Resolves when the child heard a change naming `id` (subscribe before acting). */
  heard(id: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not hear ${id}`)), timeoutMs);
      this.changeWaiters.push({ matches: (ids) => ids.includes(id), resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    await this.call({ op: 'close' });
    await exited;
  }
}

describe('nodes in separate processes', () => {
  let db: TestDatabase;
  let parent: TestNode;
  let child: ChildNode;

  before(async () => {
    db = await createTestDatabase();
    parent = await startNode(db.url);
    child = await ChildNode.start(db.url);
  });

  after(async () => {
    await child?.close();
    await parent?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  it('an update in this process reaches the child process\'s cache, and back', async () => {
    const s = await parent.sessions.createSession('xp-user', { v: { value: 1 } });
    await child.call({ op: 'get', sessionId: s.id, key: 'v' });
    const cached = await child.call({ op: 'get', sessionId: s.id, key: 'v' });
    assert.deepEqual(cached, { version: 1, value: 1, fromCache: true });

    const heard = child.heard(s.id);
    const read = await parent.sessions.getSession(s.id);
    read.setAttribute('v', 2);
    await parent.sessions.updateSession(read);
    await heard;
    const fresh = await child.call({ op: 'get', sessionId: s.id, key: 'v' });
    assert.equal(fresh.value, 2);
    assert.equal(fresh.version, 2);

    const parentHeard = nextChange(parent, (c) => c.ids.includes(s.id));
    await child.call({ op: 'set', sessionId: s.id, key: 'v', value: 3 });
    await parentHeard;
    assert.equal((await parent.sessions.getSession(s.id)).getAttribute('v'), 3);
  });

  it('a revocation in this process makes the child reject the session', async () => {
    const s = await parent.sessions.createSession('xp-revoke');
    await child.call({ op: 'get', sessionId: s.id, key: 'v' });
    const heard = child.heard('xp-revoke');
    await parent.sessions.deleteAllUserSessions('xp-revoke');
    await heard;
    await assert.rejects(child.call({ op: 'get', sessionId: s.id, key: 'v' }), (err: Error) => err.name === SessionNotFoundError.name);
  });
});
