import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { HmacSigner } from '../../lib/index.js';

const ID = '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b';

describe('HmacSigner', () => {
  it('signs as <value>.<HMAC-SHA256 in unpadded base64url> and verifies', () => {
    const signer = new HmacSigner(['k1']);
    const signed = signer.sign(ID);
    const expected = createHmac('sha256', 'k1').update(ID).digest('base64url');
    assert.equal(signed, `${ID}.${expected}`);
    assert.match(signed.slice(37), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(signer.verify(signed), ID);
    assert.equal(signer.sign(ID), signed, 'deterministic');
  });

  it('signs with the first secret and verifies with every one (rotation)', () => {
    const rotated = new HmacSigner(['new', 'old']);
    const before = new HmacSigner(['old']).sign(ID);
    assert.equal(rotated.verify(before), ID);
    assert.equal(rotated.sign(ID), new HmacSigner(['new']).sign(ID));
    assert.equal(new HmacSigner(['new']).verify(before), null, 'gone once the old secret is removed');
  });

  it('values may hold dots, or be empty: the signature follows the last dot', () => {
    const signer = new HmacSigner(['k']);
    for (const value of ['a.b.c', '', '.', 'ünïcødé ✓', 'x'.repeat(1000)]) {
      assert.equal(signer.verify(signer.sign(value)), value);
    }
  });

  it('returns null, never throws, for anything that is not its own signature', () => {
    const signer = new HmacSigner(['k']);
    const good = signer.sign(ID);
    const sig = good.slice(37);
    const last = sig[42]!;
    const bad: unknown[] = [
      undefined, null, 42, {}, [], Symbol('s'), () => good, Buffer.from(good), new String(good),
      '', '.', ID, `${ID}.`, `${ID}.${sig.slice(1)}`, `${ID}.${sig}A`, `${ID}.${sig}=`, `${ID}${sig}`,
      `${ID}.${sig.slice(0, 42)}${last === 'A' ? 'B' : 'A'}`,
      `${ID.toUpperCase()}.${sig}`,
      `${ID}x.${sig}`,
      `${ID}.${sig.replace(/[-_]/g, '+')}`.replace(/.$/, '/'),
      `${ID}.${'A'.repeat(43)}`,
      `${ID}.${sig.slice(0, 42)}\u00e9`,
      `\uD800.${sig}`,
      'x'.repeat(10 * 1024),
      `${'x'.repeat(10 * 1024)}.${sig}`,
      new HmacSigner(['other']).sign(ID),
    ];
    for (const input of bad) {
      assert.equal(signer.verify(input), null, `rejects ${typeof input === 'string' ? JSON.stringify(input.slice(0, 80)) : typeof input}`);
    }
  });

  it('rejects a non-canonical last base64 character that would decode to the same bytes', () => {
    const signer = new HmacSigner(['k']);
    const good = signer.sign(ID);
    // 43 characters carry 258 bits for 256: the last character has 2 spare bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const index = alphabet.indexOf(good.at(-1)!);
    const twin = `${good.slice(0, -1)}${alphabet[index ^ 1]}`;
    assert.deepEqual(Buffer.from(twin.slice(37), 'base64url'), Buffer.from(good.slice(37), 'base64url'));
    assert.equal(signer.verify(twin), null);
  });

  it('validates its construction', () => {
    assert.throws(() => new HmacSigner([]), TypeError);
    assert.throws(() => new HmacSigner(['']), TypeError);
    assert.throws(() => new HmacSigner(['ok', '']), TypeError);
    assert.throws(() => new HmacSigner([42 as unknown as string]), TypeError);
    assert.throws(() => new HmacSigner('secret' as unknown as string[]), TypeError);
    assert.throws(() => new HmacSigner(['k']).sign(42 as unknown as string), TypeError);
    assert.throws(() => new HmacSigner(['k']).sign('\uD800'), TypeError);
  });
});
