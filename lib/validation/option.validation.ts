/**
 * How a rejected option value appears in an error message: numbers, booleans, null
 * and undefined as written, strings quoted (cut at 64 characters, since a
 * connection string or secret may be long), anything else by its kind only.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Throws for a bad option value (typed, so TypeScript knows the call does not return). */
export type FailOption = (option: string, expected: string, got: unknown) => never;

/**
 * The `fail(option, expected, got)` of one options resolver: it throws `ErrorType` with
 * `nestjs-pg-session: invalid <what> "<option>": expected <expected>, got <got>.`
 */
export function optionFailure(
  what: string,
  ErrorType: new (message: string) => Error,
): FailOption {
  return (option, expected, got) => {
    throw new ErrorType(`nestjs-pg-session: invalid ${what} "${option}": expected ${expected}, got ${describeValue(got)}.`);
  };
}
