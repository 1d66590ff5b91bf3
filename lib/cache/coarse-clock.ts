/**
 * A coarse clock for the cache-hit path: whole ticks of 1024 ms since this module
 * loaded. A tick is a small integer, which V8 keeps inline in the cache entry; an
 * epoch-millisecond number is a separate heap object, so comparing against one costs
 * another memory load (and, with many sessions cached, another cache miss) per hit.
 * Integer ticks stay small for decades of process uptime.
 */
export const TICK_MS = 1024;
const BASE = Date.now();
/** Stands for "no limit"; far beyond any real tick, and still a small integer. */
export const NO_LIMIT_TICKS = 2 ** 30 - 1;

/** The tick `ms` (epoch milliseconds) falls in. Never above {@link NO_LIMIT_TICKS}. */
export function tickOf(ms: number): number {
  return Math.min(Math.floor((ms - BASE) / TICK_MS), NO_LIMIT_TICKS);
}

/**
 * The last tick every moment of which is before `deadlineMs`: a moment whose tick is
 * at most this is certainly earlier than the deadline.
 */
export function lastTickBefore(deadlineMs: number): number {
  return tickOf(deadlineMs) - 1;
}

/**
 * The largest whole number of ticks between two moments that certainly span at most
 * `durationMs` (−1 when the duration is shorter than a tick).
 */
export function ticksWithin(durationMs: number): number {
  return Math.min(Math.floor(durationMs / TICK_MS) - 1, NO_LIMIT_TICKS);
}
