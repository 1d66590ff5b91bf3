import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { assertNoOpenHandles } from '../support/handles.js';
import { startNode, type TestNode, recordUpdateBatches } from '../support/nodes.js';

/**
 * Keys, values and group ids that PostgreSQL's array syntax treats specially (quotes,
 * backslashes, braces, commas, edge spaces, the word NULL, line breaks, non-ASCII) are
 * stored exactly as given, by an update alone (the single statement) and by updates
 * coalesced into one batch: both send them inside array literals.
 */
const AWKWARD = ['a"b', 'back\\slash', 'both\\"mixed', '{braces}', 'comma,sep', ' lead', 'trail ', 'NULL', 'null', 'tab\there', 'line\nbreak', 'émoji 🎉', '\\', 'ctl\u0001 "quoted" back\\slash', 'del\u007f'];

describe('update: awkward text survives the array parameters', () => {
  let db: TestDatabase;
  let node: TestNode;
  let batches: number[] = [];

  before(async () => {
    db = await createTestDatabase();
    node = await startNode(db.url);
    batches = recordUpdateBatches(node);
  });

  after(async () => {
    await node?.close();
    await assertNoOpenHandles();
    await db?.drop();
  });

  /** What the database holds for a session: group id and attribute values by key. */
  async function stored(id: string): Promise<{ group: string | null; attributes: Record<string, unknown> }> {
    const [row] = await db.query<{ group_id: string | null }>(`SELECT group_id FROM sessions WHERE id = $1`, [id]);
    const attrs = await db.query<{ key: string; value: string }>(`SELECT key, value FROM session_attributes WHERE session_id = $1`, [id]);
    return { group: row!.group_id, attributes: Object.fromEntries(attrs.map((r) => [r.key, JSON.parse(r.value)])) };
  }

  async function updateAll(count: number, offset: number): Promise<string[]> {
    const sessions = await Promise.all(Array.from({ length: count }, (_, n) => node.sessions.createSession(`enc-${offset + n}`, { 'to delete': { value: 1 }, [AWKWARD[0]!]: { value: 'old' } })));
    await Promise.all(
      sessions.map(async (s, n) => {
        for (const [k, text] of AWKWARD.entries()) s.setAttribute(text, { text, k, nested: { [text]: [text, null] } });
        s.setAttribute('plain', `value ${n}`);
        s.deleteAttribute('to delete');
        s.groupId = AWKWARD[n % AWKWARD.length]!;
        await node.sessions.updateSession(s);
      }),
    );
    return sessions.map((s) => s.id);
  }

  function expected(n: number) {
    const attributes: Record<string, unknown> = Object.fromEntries(AWKWARD.map((text, k) => [text, { text, k, nested: { [text]: [text, null] } }]));
    attributes.plain = `value ${n}`;
    return { group: AWKWARD[n % AWKWARD.length]!, attributes };
  }

  it('an update alone (single statement)', async () => {
    const [id] = await updateAll(1, 0);
    assert.deepEqual(await stored(id!), expected(0));
  });

  it('updates coalesced into one batch', async () => {
    batches.length = 0;
    const ids = await updateAll(AWKWARD.length + 2, 100);
    assert.ok(batches.some((size) => size > 1), `the updates were coalesced (batch sizes ${batches.join(', ')})`);
    for (const [n, id] of ids.entries()) assert.deepEqual(await stored(id), expected(n), `session ${n}`);
  });
});
