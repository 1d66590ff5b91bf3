// Option validation without a module or a database: the module options and the lock
// options name the bad option and show the rejected value the same way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLockOptions } from '../../lib/lock/resolve-lock-options.js';
import { resolveSessionOptions } from '../../lib/options/resolve-options.js';
import type { SessionModuleOptions } from '../../lib/options/session-module-options.interface.js';
import { describeValue } from '../../lib/validation/option.validation.js';

const URL = 'postgres://user@localhost:5432/db';

/** The error `fn` throws (fails when it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, `an Error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a throw');
}

describe('option validation', () => {
  it('shows rejected values: scalars as written, strings quoted and cut at 64 characters, the rest by kind', () => {
    assert.equal(describeValue(-1), '-1');
    assert.equal(describeValue(false), 'false');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(undefined), 'undefined');
    assert.equal(describeValue('abc'), '"abc"');
    assert.equal(describeValue('x'.repeat(100)), JSON.stringify(`${'x'.repeat(64)}…`));
    assert.equal(describeValue([1]), 'an array');
    assert.equal(describeValue({}), 'a object');
    assert.equal(describeValue(() => 1), 'a function');
  });

  it('a bad module option: an Error naming the option, what it expects and what it got', () => {
    const err = thrown(() => resolveSessionOptions({ connectionString: URL, cacheSize: -1 }));
    assert.equal(err.constructor, Error);
    assert.equal(err.message, 'nestjs-pg-session: invalid option "cacheSize": expected an integer >= 1, got -1.');
    const long = thrown(() => resolveSessionOptions({ connectionString: URL, schemaName: `s${'-'.repeat(99)}` }));
    assert.match(long.message, /^nestjs-pg-session: invalid option "schemaName": expected .*, got "s-{63}…"\.$/);
  });

  it('a bad lock option: a TypeError in the same form', () => {
    const err = thrown(() => resolveLockOptions({ leaseTime: 'soon' as unknown as number }));
    assert.equal(err.constructor, TypeError);
    assert.match(err.message, /^nestjs-pg-session: invalid lock option "leaseTime": expected a positive, finite number of milliseconds, got "soon"\.$/);
    assert.match(thrown(() => resolveLockOptions([] as never)).message, /lock options must be an object, got an array\.$/);
  });

  it('valid options resolve with their defaults', () => {
    const options = resolveSessionOptions({ connectionString: URL } as SessionModuleOptions);
    assert.equal(options.cacheSize, 1000);
    assert.deepEqual(resolveLockOptions(undefined), { maxRetries: 2, retryDelay: 1, leaseTime: 60_000, heartbeatInterval: 10_000 });
  });
});
