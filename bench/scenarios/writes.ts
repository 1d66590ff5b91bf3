import { randomUUID } from 'node:crypto';
import type { AttributeInput, UpdateSessionOptions } from '../../lib/index.js';
import { ATTRIBUTE_KEYS, attributesFor, expressSessionFor, navValue, UPDATED_KEY } from '../data.js';
import { compare, keyIndex, type BenchContext, type ImplSpec } from './common.js';

/**
 * Update of one attribute. The library's op is what a request handler does: read the
 * session (a cache hit), set the attribute, updateSession. Peers write the whole
 * session object (their model); the floor is one autocommit single-row UPDATE.
 * Within a run no two operations in flight touch the same session.
 */
export async function update(ctx: BenchContext): Promise<void> {
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
  await compare(ctx, 'update one attribute', impls, ['seq', 'in-flight'], { seq: ctx.config.serverOpsSeq, inFlight: ctx.config.serverOpsConcurrent });
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
