import { AttributeTooLargeError } from '../errors/session.errors.js';
import { storableTime } from '../validation/date.validation.js';
import { assertIdentifier } from '../validation/text.validation.js';

/** Throws `TypeError` unless `key` is a usable attribute key (see `assertIdentifier`). */
export function assertAttributeKey(key: unknown): asserts key is string {
  assertIdentifier(key, 'Attribute key');
}

/** Throws `TypeError` unless `date` is a valid `Date` PostgreSQL can store; returns its epoch ms. */
export function expiryMillis(date: unknown, what: string): number {
  return storableTime(date, what);
}

/**
 * Encodes an attribute value as the JSON text that is stored and cached, so a value
 * reads back the same from the cache and from the database.
 * @throws TypeError for values JSON cannot round-trip (functions, symbols, undefined,
 *   BigInt, non-finite numbers, Map/Set and other non-plain objects, cycles).
 * @throws AttributeTooLargeError when the text exceeds `limit` bytes.
 */
export function encodeAttribute(key: string, value: unknown, limit: number): string {
  assertJsonValue(value, key, new Set());
  const json = JSON.stringify(value);
  // Cheap bound first: UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (json.length * 3 > limit) {
    const size = Buffer.byteLength(json, 'utf8');
    if (size > limit) throw new AttributeTooLargeError(key, size, limit);
  }
  return json;
}

function assertJsonValue(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Attribute value at ${path} is ${value}, which JSON cannot store.`);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`Attribute value at ${path} is a ${typeof value}, which JSON cannot store.`);
  }
  if (value === null || value instanceof Date) {
    if (value instanceof Date && Number.isNaN(value.getTime())) throw new TypeError(`Attribute value at ${path} is an invalid Date.`);
    return;
  }
  if (seen.has(value)) throw new TypeError(`Attribute value at ${path} contains a cycle.`);
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) throw new TypeError(`Attribute value at ${path}[${i}] is undefined, which JSON cannot store.`);
      assertJsonValue(value[i], `${path}[${i}]`, seen);
    }
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
      throw new TypeError(`Attribute value at ${path} is a ${proto?.constructor?.name ?? 'non-plain object'}; store a plain object, array or primitive.`);
    }
    if (typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
      for (const k of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[k];
        if (v !== undefined) assertJsonValue(v, `${path}.${k}`, seen);
      }
    }
  }
  seen.delete(value);
}
