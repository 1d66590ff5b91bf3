import { randomUUID } from 'node:crypto';
import type { AttributeInput, UpdateSessionOptions } from '../../lib/index.js';
import { TableNames } from '../../lib/store/table-names.js';
import { ATTRIBUTE_KEYS, attributesFor, expressSessionFor, navValue, UPDATED_KEY } from '../data.js';
import { warmUp, type Op } from '../harness.js';
import { LibraryStatementByHand } from '../peers/library-statement-by-hand.js';
import { compare, keyIndex, type BenchContext, type ImplSpec, type Mode } from './common.js';

/**
 * Update of one attribute. The library's op is what a request handler does: read the
 * session (a cache hit), set the attribute, updateSession. Peers write the whole
 * session object (their model); the floor is one autocommit single-row UPDATE.
 * Within a run no two operations in flight touch the same session.
 *
 * At 32 in flight, beside the hand-batched reference, runs the hand-written best case of
 * the library's own work (its batch statement and a bounded cache of the new states,
 * driven by hand on a copy of its tables): where that is below a target too, the target
 * is beyond what this machine allows for the same work (issue 13's rule).
 */
export async function update(ctx: BenchContext): Promise<void> {
  let bestCase: LibraryStatementByHand | undefined;
  const byHand: Op = (n) => bestCase!.update(ctx.data.ids[keyIndex(ctx.data, n)]!, navValue(n));
  try {
    await updateRows(ctx, byHand, async (mode) => {
      if (mode !== 'in-flight') return;
      // Started only now: its LISTEN client would be one more listening backend for every
      // NOTIFY of the sequential rows (PostgreSQL signals each listener of the database).
      bestCase = await LibraryStatementByHand.copyAndStart(
        ctx.floor.pool, ctx.db.url, { sessions: 'sessions', attributes: 'session_attributes' }, new TableNames('public', 'bestcase_'), true,
      );
      // The copy is freshly written, its pages full: the first update of a row finds no room
      // on its page, so it is no HOT update and inserts into every index of the table. The
      // reference's and the library's tables are past that before their 32-in-flight runs
      // (the sequential mode wrote each of their rows a few times); one untimed pass over
      // every session puts the copy there too, rather than into the best case's timed runs
      // (without it 7% of those runs' attribute updates were not HOT, 2.5% with it). It also
      // warms the row's own code, which the sequential mode warmed for the others.
      await warmUp(byHand, ctx.data.size, ctx.config.inFlight);
    });
  } finally {
    await bestCase?.close();
  }
}

async function updateRows(ctx: BenchContext, byHand: Op, beforeMode: (mode: Mode) => Promise<void>): Promise<void> {
  const { data, node, floor, pgSimple, redis, unnamedNode } = ctx;
  const ours = (options: UpdateSessionOptions, on = node) => async (n: number): Promise<void> => {
    const s = await on.sessions.getSession(data.ids[keyIndex(data, n)]!);
    s.setAttribute(UPDATED_KEY, navValue(n));
    await on.sessions.updateSession(s, options);
  };
  const unnamedNote = 'what a transaction pooler costs in PostgreSQL: each call parsed and planned again';
  const impls: ImplSpec[] = [
    { impl: 'this library: updateSession (no check)', role: 'ours', op: ours({}) },
    ...(unnamedNode ? [{ impl: 'unnamed statements (preparedStatements: false): updateSession (no check)', role: 'reference' as const, op: ours({}, unnamedNode), note: unnamedNote }] : []),
    { impl: 'this library: updateSession checkAttributeVersion', role: 'ours', op: ours({ checkAttributeVersion: true }) },
    ...(unnamedNode
      ? [{ impl: 'unnamed statements (preparedStatements: false): updateSession checkAttributeVersion', role: 'reference' as const, op: ours({ checkAttributeVersion: true }, unnamedNode), note: unnamedNote }]
      : []),
    { impl: 'this library: updateSession checkVersion', role: 'ours', op: ours({ checkVersion: true }) },
    {
      impl: 'this library: updateSession notify: false (diagnostic)', role: 'ours', op: ours({ notify: false }),
      note: 'other nodes are not told: shows what the NOTIFY in the statement costs',
    },
    { impl: 'floor: single-row UPDATE', role: 'floor', op: (n) => floor.update(data.ids[keyIndex(data, n)]!, navValue(n)) },
    {
      impl: 'reference: attribute + session version + pg_notify, one hand-written statement', role: 'reference',
      op: (n) => floor.updateWithSessionAndNotify(data.ids[keyIndex(data, n)]!, navValue(n)),
      note: "the writes every update must make (its NOTIFY heard, as the library's is by its own node), without checks or results: what is left above the floor for those",
    },
    {
      impl: 'reference: the same writes hand-batched (one statement and one NOTIFY per batch, 2 in flight)', role: 'reference',
      op: (n) => ctx.handBatched.update(data.ids[keyIndex(data, n)]!, navValue(n)),
      note: "the batching design's limit: concurrent updates coalesced by hand, slot refilled on the next turn, no checks or results",
    },
    {
      impl: "reference: the library's statement and a cache of the new states, by hand (the best case of the same work)", role: 'reference',
      modes: ['in-flight'],
      op: byHand,
      note: "the library's batch statement with its parameters, batched like the reference above, and a bounded LRU cache of the sessions' new states: what the library does, by hand, without its views, commands or checks",
    },
    {
      impl: 'connect-pg-simple set', role: 'peer',
      op: (n) => {
        const i = keyIndex(data, n);
        return pgSimple.set(data.ids[i]!, expressSessionFor(i, navValue(n)));
      },
    },
    {
      impl: 'connect-redis set', role: 'peer', skipped: ctx.redisSkipped ?? undefined,
      op: redis
        ? (n) => {
            const i = keyIndex(data, n);
            return redis.set(data.ids[i]!, expressSessionFor(i, navValue(n)));
          }
        : undefined,
    },
  ];
  await compare(ctx, 'update one attribute', impls, ['seq', 'in-flight'], { seq: ctx.config.serverOpsSeq, inFlight: ctx.config.serverOpsConcurrent }, beforeMode);
}

/** Create: a new session with the 5 attributes, for a new user. */
export async function create(ctx: BenchContext): Promise<void> {
  const { data, node, floor, pgSimple, redis } = ctx;
  // Inputs are built up front for everyone, so no row pays for building its arguments.
  const inputs: Array<Record<string, AttributeInput>> = [];
  const plain: Array<Record<string, unknown>> = [];
  const express: Array<Record<string, unknown>> = [];
  for (let i = 0; i < Math.min(data.size, 1000); i++) {
    const a = attributesFor(i) as Record<string, unknown>;
    inputs.push(Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, { value: a[k] }])));
    plain.push(a);
    express.push(expressSessionFor(i));
  }
  const impls: ImplSpec[] = [
    {
      impl: 'this library: createSession', role: 'ours',
      op: (n) => node.sessions.createSession(`new-user-${n}`, inputs[n % inputs.length]!),
    },
    { impl: 'floor: one INSERT statement (session + attributes)', role: 'floor', op: (n) => floor.create(`new-user-${n}`, plain[n % plain.length]!) },
    { impl: 'connect-pg-simple set (new sid)', role: 'peer', op: (n) => pgSimple.set(randomUUID(), express[n % express.length]!) },
    {
      impl: 'connect-redis set (new sid)', role: 'peer', skipped: ctx.redisSkipped ?? undefined,
      op: redis ? (n) => redis.set(randomUUID(), express[n % express.length]!) : undefined,
    },
  ];
  await compare(ctx, 'create', impls, ['seq', 'in-flight'], { seq: ctx.config.createOps, inFlight: ctx.config.createOps });
}
