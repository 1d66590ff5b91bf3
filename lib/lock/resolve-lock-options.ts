import { describeValue, optionFailure, type FailOption } from '../validation/option.validation.js';
import { assertIdentifier } from '../validation/text.validation.js';
import type { LockOptions, ResolvedLockOptions } from './lock-options.interface.js';

const KNOWN_OPTIONS = new Set<string>(['maxRetries', 'retryDelay', 'heartbeatInterval', 'leaseTime']);

/** Defaults of {@link LockOptions}. */
export const LOCK_DEFAULTS = Object.freeze({
  maxRetries: 2,
  retryDelay: 1,
  heartbeatInterval: 10_000,
  leaseTime: 60_000,
});

/** Throws a TypeError naming the option, what it expects and what it got. */
const fail: FailOption = optionFailure('lock option', TypeError);

function number(options: LockOptions, key: keyof LockOptions, fallback: number, positive: boolean, hint = ''): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    fail(key, `a ${positive ? 'positive' : 'non-negative'}, finite number of milliseconds${hint}`, value);
  }
  return value;
}

/** Validates `options` and applies the defaults. @throws TypeError naming the bad option. */
export function resolveLockOptions(options: LockOptions | undefined): ResolvedLockOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`nestjs-pg-session: lock options must be an object, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`nestjs-pg-session: unknown lock option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')}).`);
    }
  }
  const maxRetries = options.maxRetries ?? LOCK_DEFAULTS.maxRetries;
  if (typeof maxRetries !== 'number' || !Number.isSafeInteger(maxRetries) || maxRetries < 0) {
    fail('maxRetries', 'an integer >= 0', options.maxRetries);
  }
  const retryDelay = number(options, 'retryDelay', LOCK_DEFAULTS.retryDelay, false);
  const leaseTime = number(options, 'leaseTime', LOCK_DEFAULTS.leaseTime, true);
  const heartbeatInterval = number(
    options, 'heartbeatInterval', LOCK_DEFAULTS.heartbeatInterval, true,
    ' (to switch the heartbeat off, make it >= leaseTime)',
  );
  return { maxRetries, retryDelay, leaseTime, heartbeatInterval: heartbeatInterval >= leaseTime ? null : heartbeatInterval };
}

/** Validates a lock's resource name. @throws TypeError */
export function assertResource(resource: unknown): asserts resource is string {
  assertIdentifier(resource, 'nestjs-pg-session: a lock resource');
}

/** Validates the argument of `extendLease`. @throws TypeError */
export function assertDuration(duration: unknown): asserts duration is number {
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0) {
    throw new TypeError(`nestjs-pg-session: extendLease(duration) expects a positive, finite number of milliseconds, got ${describeValue(duration)}.`);
  }
}
