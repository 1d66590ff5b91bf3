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

  it('a batch where only some updates change the group, expiry, inclusion or an attribute expiry', async () => {
    // Columns no update of a batch uses are sent as NULL; one that some use is sent whole.
    const sessions = await Promise.all(['mix-a', 'mix-b', 'mix-c', 'mix-d'].map((user) => node.sessions.createSession(user, { n: { value: 0 } })));
    const expiresAt = new Date(Date.now() + 3_600_000);
    const attributeExpiry = new Date(Date.now() + 600_000);
    batches.length = 0;
    await Promise.all(
      sessions.map(async (s, n) => {
        s.setAttribute('n', n + 1, n === 3 ? { expiresAt: attributeExpiry } : undefined);
        if (n === 1) s.groupId = 'tenant-b';
        await node.sessions.updateSession(s, n === 0 ? { expiresAt, includeInactivity: false } : {});
      }),
    );
    assert.ok(batches.some((size) => size > 1), `the updates were coalesced (batch sizes ${batches.join(', ')})`);
    const rows = await db.query<{ id: string; group_id: string | null; expires_at: number; include_inactivity: boolean; a_expires: number | null }>(
      `SELECT s.id, s.group_id, floor(extract(epoch FROM s.expires_at) * 1000)::float8 AS expires_at, s.include_inactivity,
              floor(extract(epoch FROM a.expires_at) * 1000)::float8 AS a_expires
         FROM sessions s JOIN session_attributes a ON a.session_id = s.id AND a.key = 'n' WHERE s.id = ANY($1)`,
      [sessions.map((s) => s.id)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const [a, b, c, d] = sessions.map((s) => byId.get(s.id)!);
    assert.equal(a!.expires_at, expiresAt.getTime());
    assert.equal(a!.include_inactivity, false);
    assert.equal(b!.group_id, 'tenant-b');
    assert.equal(d!.a_expires, attributeExpiry.getTime());
    for (const [name, row, original] of [['b', b, sessions[1]], ['c', c, sessions[2]], ['d', d, sessions[3]]] as const) {
      assert.equal(row!.expires_at, original!.expiresAt.getTime(), `${name} keeps its expiry`);
      assert.equal(row!.include_inactivity, original!.includeInactivity, `${name} keeps its inclusion`);
    }
    assert.equal(a!.group_id, null);
    assert.equal(c!.group_id, null);
    assert.equal(a!.a_expires, null);
    assert.equal(c!.a_expires, null);
  });

  it('updates coalesced into one batch', async () => {
    batches.length = 0;
    const ids = await updateAll(AWKWARD.length + 2, 100);
    assert.ok(batches.some((size) => size > 1), `the updates were coalesced (batch sizes ${batches.join(', ')})`);
    for (const [n, id] of ids.entries()) assert.deepEqual(await stored(id), expected(n), `session ${n}`);
  });
});
