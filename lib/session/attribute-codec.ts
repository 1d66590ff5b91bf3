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

/** {@link leafProblem}'s answer for an array or object: its members are to be checked. */
const WALK = Symbol('walk');

/**
 * Throws unless `value` round-trips through JSON. `seen` holds the objects being
 * walked (a cycle check), created once a nested object is met. It recurses itself, not
 * through a helper: one stack frame per level of nesting, so a value is checked as deep
 * as JSON.stringify writes it (two frames per level overflowed at ~58% of that).
 */
function assertJsonValue(value: unknown, path: Path, seen: Set<object> | undefined): void {
  const problem = leafProblem(value);
  if (problem === null) return;
  if (problem !== WALK) throw new TypeError(`Attribute value at ${pathText(path)} ${problem}`);
  const object = value as object;
  if (seen?.has(object)) throw new TypeError(`Attribute value at ${pathText(path)} contains a cycle.`);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (object[i] === undefined) throw new TypeError(`Attribute value at ${pathText({ parent: path, key: i })} is undefined, which JSON cannot store.`);
      if (!mustWalk(object[i], path, i)) continue;
      (seen ??= new Set()).add(object);
      assertJsonValue(object[i], { parent: path, key: i }, seen);
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
        if (v === undefined || !mustWalk(v, path, k)) continue;
        (seen ??= new Set()).add(object);
        assertJsonValue(v, { parent: path, key: k }, seen);
      }
    }
  }
  seen?.delete(object);
}

/**
 * Throws when a member (at `parent`, `key`) is a value JSON cannot store; true when it is
 * an array or object to walk. It returns before the walk, so the walk adds no frame.
 */
function mustWalk(member: unknown, parent: Path, key: string | number): boolean {
  const problem = leafProblem(member);
  if (problem === null) return false;
  if (problem !== WALK) throw new TypeError(`Attribute value at ${pathText({ parent, key })} ${problem}`);
  return true;
}

/** Why a value JSON cannot store is refused (the end of the error message), WALK for an array or object, or null. */
function leafProblem(value: unknown): string | typeof WALK | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `is ${value}, which JSON cannot store.`;
    case 'object':
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'is an invalid Date.' : null;
      return WALK;
    default:
      return `is a ${typeof value}, which JSON cannot store.`;
  }
}
