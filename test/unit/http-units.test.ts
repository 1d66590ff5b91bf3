import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieValues, decodeCookieValue, serializeCookie } from '../../lib/http/cookie-header.js';
import { jsonEqual, toJsonValue } from '../../lib/http/json-equal.js';
import { RequireAttribute } from '../../lib/index.js';

describe('cookie header parsing (pure logic)', () => {
  it('finds every value of a name, in order, trimmed and unquoted', () => {
    assert.deepEqual(cookieValues('a=1; sid=x; b=2', 'sid'), ['x']);
    assert.deepEqual(cookieValues('sid=first;sid=second', 'sid'), ['first', 'second']);
    assert.deepEqual(cookieValues('  sid =  "quoted"  ', 'sid'), ['quoted']);
    assert.deepEqual(cookieValues('sid=a=b', 'sid'), ['a=b']);
    assert.deepEqual(cookieValues('xsid=1; sidx=2; SID=3', 'sid'), []);
    assert.deepEqual(cookieValues(['a=1', 'sid=2'], 'sid'), ['2']);
    assert.deepEqual(cookieValues('sid=', 'sid'), ['']);
  });

  it('never throws on odd input', () => {
    for (const header of [undefined, null, 42, {}, [1, 2], '', ';;;', '=', 'sid', '=sid', 'x'.repeat(100_000), ';'.repeat(20_000) + 'sid=1']) {
      assert.ok(Array.isArray(cookieValues(header, 'sid')));
    }
  });

  it('parses a long pathological header in linear time', () => {
    const header = 'a'.repeat(8) + ';'.repeat(16_000) + '=';
    const started = performance.now();
    cookieValues(header, 'sid');
    assert.ok(performance.now() - started < 200);
  });

  it('decodes percent escapes safely', () => {
    assert.equal(decodeCookieValue('plain'), 'plain');
    assert.equal(decodeCookieValue('a%2Eb'), 'a.b');
    assert.equal(decodeCookieValue('%E0%A4%A'), null);
    assert.equal(decodeCookieValue('%'), null);
  });

  it('serializes Set-Cookie values and refuses values a cookie cannot carry', () => {
    const expires = new Date('2030-01-01T00:00:00Z');
    assert.equal(
      serializeCookie('sid', 'v.1', { maxAge: 59.9, expires, path: '/', domain: 'example.com', httpOnly: true, secure: true, sameSite: 'lax' }),
      'sid=v.1; Max-Age=59; Expires=Tue, 01 Jan 2030 00:00:00 GMT; Domain=example.com; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
    assert.equal(serializeCookie('sid', '', { maxAge: -5, sameSite: 'strict' }), 'sid=; Max-Age=0; SameSite=Strict');
    for (const bad of ['a b', 'a;b', 'a,b', 'a"b', 'a\\b', 'é', 'a\nb']) {
      assert.throws(() => serializeCookie('sid', bad, {}), TypeError);
    }
  });
});

describe('JSON equality for @RequireAttribute', () => {
  it('compares JSON values deeply, ignoring key order', () => {
    assert.ok(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
    assert.ok(jsonEqual('x', 'x'));
    assert.ok(jsonEqual(null, null));
    for (const [a, b] of [[1, '1'], [[1, 2], [2, 1]], [{ a: 1 }, { a: 1, b: 2 }], [{ a: undefined }, { b: undefined }], [null, {}], [[], {}], [true, 1], [{ a: [1] }, { a: [1, 1] }]] as const) {
      assert.equal(jsonEqual(a, b), false, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  });

  it('normalises the expected value as storage does, and rejects what JSON cannot hold', () => {
    assert.equal(toJsonValue(new Date('2030-01-01T00:00:00Z'), 'x'), '2030-01-01T00:00:00.000Z');
    assert.throws(() => toJsonValue(10n, 'x'), TypeError);
    assert.throws(() => toJsonValue(() => 1, 'x'), TypeError);
    assert.throws(() => RequireAttribute('', {}), TypeError);
    assert.throws(() => RequireAttribute('k'.repeat(256)), TypeError);
    assert.throws(() => RequireAttribute('k', { equals: 1n }), TypeError);
  });
});
