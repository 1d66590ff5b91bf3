// A node skips its own notifications by how their payload begins, without parsing them:
// the prefixes must match both ways a payload is written, and no other node's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSingle, ownPayloadTest } from '../../lib/sync/notification-codec.js';

const startsOwn = (payload: string, nodeId: string) => ownPayloadTest(nodeId)(payload);

describe('own notification payloads', () => {
  const me = '6f1c2a9e-0d4b-4c1e-9a57-3b2f8d1e7c40';

  it('are recognised as written by encodeSingle and by json_build_object', () => {
    assert.ok(startsOwn(encodeSingle(me, { type: 'sessions', ids: ['x'] }), me));
    // PostgreSQL's json_build_object('n', …, 't', 's', 'i', …)::text, as the batch and bulk statements send it.
    assert.ok(startsOwn(`{"n" : "${me}", "t" : "s", "i" : ["a", "b"]}`, me));
  });

  it("are not another node's, even one whose id extends this one", () => {
    for (const other of ['0a0b5c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', `${me}0`, me.slice(0, -1)]) {
      assert.equal(startsOwn(encodeSingle(other, { type: 'sessions', ids: ['x'] }), me), false);
      assert.equal(startsOwn(`{"n" : "${other}", "t" : "s", "i" : ["a"]}`, me), false);
    }
  });
});
