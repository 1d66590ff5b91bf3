// A session node in a process of its own, driven over IPC by test/e2e/cross-process.test.ts.
import { startNode } from './nodes.js';
import { SessionNotifications } from '../../lib/index.js';

type Command =
  | { id: number; op: 'get'; sessionId: string; key: string }
  | { id: number; op: 'set'; sessionId: string; key: string; value: unknown }
  | { id: number; op: 'close' };

const node = await startNode(process.argv[2]!);
const subscription = node.app.get(SessionNotifications).changes$.subscribe((change) => process.send!({ event: 'change', change }));

process.on('message', async (command: Command) => {
  try {
    if (command.op === 'get') {
      const s = await node.sessions.getSession(command.sessionId);
      process.send!({ id: command.id, result: { version: s.version, value: s.getAttribute(command.key), fromCache: s.fromCache } });
    } else if (command.op === 'set') {
      const s = await node.sessions.getSession(command.sessionId);
      s.setAttribute(command.key, command.value);
      const saved = await node.sessions.updateSession(s);
      process.send!({ id: command.id, result: { version: saved.version } });
    } else {
      subscription.unsubscribe();
      await node.close();
      process.send!({ id: command.id, result: null }, () => process.disconnect());
    }
  } catch (err) {
    process.send!({ id: command.id, error: { name: (err as Error).name, message: (err as Error).message } });
  }
});
process.send!({ event: 'ready' });
