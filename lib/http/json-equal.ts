/**
 * Deep equality of JSON values (null, booleans, numbers, strings, arrays, plain
 * objects); object key order does not matter.
 * @internal
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && jsonEqual(left[key], right[key]));
}

/**
 * The value as it reads back after a JSON round trip (a `Date` becomes its ISO
 * string), the way session attributes are stored.
 * @throws TypeError when JSON cannot represent the value.
 */
export function toJsonValue(value: unknown, what: string): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} must be a JSON value: ${(error as Error).message}`);
  }
  if (json === undefined) throw new TypeError(`${what} must be a JSON value, got ${typeof value}.`);
  return JSON.parse(json) as unknown;
}
