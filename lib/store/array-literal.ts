/**
 * PostgreSQL array literals (`{…}` text) for statement parameters. `pg` turns a JS array
 * into the same text, but through a string per element and two regex passes per string;
 * on the write path, where one batch carries a dozen arrays per update, that was most
 * of the garbage an update made. These build each literal in one pass and one join.
 */

/** What `JSON.stringify` writes as an escape other than `\"` and `\\` (control characters, lone surrogates). */
const JSON_ESCAPED_OTHERWISE = /[\u0000-\u001f\ud800-\udfff]/;

/** Quotes one element: inside double quotes, only `"` and `\` need a backslash. */
function quoted(value: string): string {
  // JSON.stringify quotes a string exactly so when it has nothing else to escape, and is
  // much faster than a regex replace on attribute values (JSON text, full of quotes).
  return JSON_ESCAPED_OTHERWISE.test(value) ? `"${value.replace(/["\\]/g, '\\$&')}"` : JSON.stringify(value);
}

/** An array literal of `values`, each written by `element`; null elements stay SQL NULL. */
function literal<T>(values: ReadonlyArray<T | null>, element: (value: T) => string): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    parts[i] = value === null || value === undefined ? 'NULL' : element(value);
  }
  return braced(parts);
}

/**
 * `{a,b,…}` as one flat string. The braces go into the first and last parts, so `join`
 * writes the whole literal once; `{` + joined + `}` would be a rope that pg's byte count
 * flattens into yet another copy of every literal.
 */
function braced(parts: string[]): string {
  if (parts.length === 0) return '{}';
  parts[0] = `{${parts[0]!}`;
  parts[parts.length - 1] = `${parts[parts.length - 1]!}}`;
  return parts.join(',');
}

/** A `text[]` (or `uuid[]`) literal; null elements stay SQL NULL. */
export function textArray(values: ReadonlyArray<string | null>): string {
  return literal(values, quoted);
}

/** A `uuid[]` literal of canonical UUIDs (hex digits and dashes: nothing to quote). */
export function uuidArray(ids: readonly string[]): string {
  return braced([...ids]);
}

/** An `int[]` or `float8[]` literal; null elements stay SQL NULL. */
export function numberArray(values: ReadonlyArray<number | null>): string {
  return literal(values, String);
}

/** A `boolean[]` literal; null elements stay SQL NULL. */
export function booleanArray(values: ReadonlyArray<boolean | null>): string {
  return literal(values, booleanText);
}

const booleanText = (value: boolean): string => (value ? 't' : 'f');
