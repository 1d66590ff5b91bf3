/**
 * Earliest instant a PostgreSQL `timestamptz` holds (4714-11-24 BC, Julian day 0), in
 * epoch ms. JavaScript dates reach further back; the latest JavaScript date (year
 * 275760) is within PostgreSQL's range, so only this bound needs checking.
 */
export const MIN_STORABLE_TIME = -210_866_803_200_000;

/**
 * Throws `TypeError` naming `field` unless `date` is a valid `Date` PostgreSQL can
 * store; returns its epoch ms. Checked before anything is queued, so a date out of
 * range never reaches a coalesced statement.
 */
export function storableTime(date: unknown, field: string): number {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(`${field} must be a valid Date.`);
  }
  const at = date.getTime();
  if (at < MIN_STORABLE_TIME) {
    throw new TypeError(`${field} is ${date.toISOString()}, before the earliest time PostgreSQL stores (4714 BC).`);
  }
  return at;
}
