import { performance } from 'node:perf_hooks';

/** Longest delay `setTimeout` honours; longer ones would fire at once. */
const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * Monotonic milliseconds. A holder's own view of its lease is measured with this,
 * never with the wall clock, so a clock step (NTP, a VM resume) cannot stretch it.
 */
export function monotonicNow(): number {
  return performance.now();
}

/** `setTimeout` that never keeps the process alive and clamps over-long delays (callers re-check). */
export function unrefTimeout(fn: () => void, delay: number): NodeJS.Timeout {
  const timer = setTimeout(fn, Math.min(Math.max(0, Math.ceil(delay)), MAX_TIMER_DELAY));
  timer.unref();
  return timer;
}

/**
 * How much earlier than the database a holder gives its lease up: 1% of the lease
 * plus 2 ms. It absorbs clock-rate differences between this node and the database
 * and the delay of the timer that tells the holder.
 */
export function safetyMargin(lease: number): number {
  return lease * 0.01 + 2;
}
