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
  assertJsonValue(value, key, undefined);
  const json = JSON.stringify(value);
  // Cheap bound first: UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (json.length * 3 > limit) {
    const size = Buffer.byteLength(json, 'utf8');
    if (size > limit) throw new AttributeTooLargeError(key, size, limit);
  }
  return json;
}

/**
 * Where a value sits inside an attribute, for error messages: built only when one is
 * thrown (every update checks its values; a path string per property was most of that
 * check's cost).
 */
type Path = string | { readonly parent: Path; readonly key: string | number };

function pathText(path: Path): string {
  if (typeof path === 'string') return path;
  return typeof path.key === 'number' ? `${pathText(path.parent)}[${path.key}]` : `${pathText(path.parent)}.${path.key}`;
}

/**
 * Throws unless `value` round-trips through JSON. `seen` holds the objects being
 * walked (a cycle check), created once a nested object is met.
 */
function assertJsonValue(value: unknown, path: Path, seen: Set<object> | undefined): void {
  if (!assertJsonLeaf(value, path)) return;
  const object = value as object;
  if (seen?.has(object)) throw new TypeError(`Attribute value at ${pathText(path)} contains a cycle.`);
  let walking = false;
  const child = (v: unknown, key: string | number): void => {
    if (typeof v !== 'object' || v === null || v instanceof Date) {
      assertJsonLeaf(v, { parent: path, key });
      return;
    }
    if (!walking) {
      (seen ??= new Set()).add(object);
      walking = true;
    }
    assertJsonValue(v, { parent: path, key }, seen);
  };
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (object[i] === undefined) throw new TypeError(`Attribute value at ${pathText({ parent: path, key: i })} is undefined, which JSON cannot store.`);
      child(object[i], i);
    }
  } else {
    const proto = Object.getPrototypeOf(object);
    const toJson = typeof (object as { toJSON?: unknown }).toJSON === 'function';
    if (proto !== Object.prototype && proto !== null && !toJson) {
      throw new TypeError(`Attribute value at ${pathText(path)} is a ${proto?.constructor?.name ?? 'non-plain object'}; store a plain object, array or primitive.`);
    }
    if (!toJson) {
      for (const k of Object.keys(object)) {
        const v = (object as Record<string, unknown>)[k];
        if (v !== undefined) child(v, k);
      }
    }
  }
  if (walking) seen!.delete(object);
}

/** Checks a value that is not an array or plain object; returns true when it is one (to walk). */
function assertJsonLeaf(value: unknown, path: Path): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return false;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Attribute value at ${pathText(path)} is ${value}, which JSON cannot store.`);
      return false;
    case 'object':
      if (value === null) return false;
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new TypeError(`Attribute value at ${pathText(path)} is an invalid Date.`);
        return false;
      }
      return true;
    default:
      throw new TypeError(`Attribute value at ${pathText(path)} is a ${typeof value}, which JSON cannot store.`);
  }
}
