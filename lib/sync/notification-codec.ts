import type { SessionChange } from './session-change.js';

/**
 * Wire format of a notification: `{"n": senderNodeId, "t": "s"|"u"|"g"|"a", "i": [ids]}`.
 * The SQL statements that notify in bulk build the same shape with json_build_object,
 * 150 ids per payload, so every payload stays far under NOTIFY's 8000-byte limit.
 */
interface WireMessage {
  n: string;
  t: string;
  i: unknown;
}

const TYPE_TO_WIRE = { sessions: 's', user: 'u', group: 'g', all: 'a' } as const;
const WIRE_TO_TYPE: Record<string, SessionChange['type']> = { s: 'sessions', u: 'user', g: 'group', a: 'all' };

/** Encodes a change known to fit in one payload (one id of at most 255 characters). */
export function encodeSingle(nodeId: string, change: SessionChange): string {
  return JSON.stringify({ n: nodeId, t: TYPE_TO_WIRE[change.type], i: change.ids });
}

/**
 * Tells whether a payload was sent by `nodeId`, by how it begins: as {@link encodeSingle}
 * writes it, or as PostgreSQL's `json_build_object` does (`{"n" : …`). A node hears its
 * own notifications too (one per write batch); this spares parsing each only to drop it.
 */
export function ownPayloadTest(nodeId: string): (payload: string) => boolean {
  const id = JSON.stringify(nodeId);
  const written = `{"n":${id},`;
  const built = `{"n" : ${id}, `;
  return (payload) => payload.startsWith(written) || payload.startsWith(built);
}

/** A decoded notification. */
export interface DecodedNotification {
  nodeId: string;
  change: SessionChange;
}

/** Decodes a payload; returns a reason string when it is malformed or of an unknown type. */
export function decodeNotification(payload: string | undefined): DecodedNotification | string {
  if (!payload) return 'empty payload';
  let message: WireMessage;
  try {
    message = JSON.parse(payload) as WireMessage;
  } catch {
    return 'payload is not JSON';
  }
  if (typeof message !== 'object' || message === null || typeof message.n !== 'string') return 'payload has no sender node id';
  const type = typeof message.t === 'string' ? WIRE_TO_TYPE[message.t] : undefined;
  if (type === undefined) return `unknown notification type ${JSON.stringify(message.t)}`;
  if (!Array.isArray(message.i) || message.i.some((id) => typeof id !== 'string')) return 'payload ids are not a list of strings';
  return { nodeId: message.n, change: { type, ids: message.i as string[] } };
}
