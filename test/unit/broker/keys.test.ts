import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { credentialsKey, tagsHash, tokenKey } from '../../../src/broker/keys.js';

const tags = fc.option(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { minKeys: 1, maxKeys: 4 }),
  {
    nil: undefined,
  },
);
// Ids that look like the tuple form, contain its separators, or are plain.
const id = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('[', ']', '"', ',', '\\', 'a', ':'), maxLength: 12 }),
  fc.constantFrom('', '[', '[]', '["a",""]', 'us-east-1:abc'),
);

/** The same tags, compared by content (the hash ignores key order). */
function sameTags(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined) {
  return (
    tagsHash(a) === tagsHash(b) &&
    JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort())
  );
}

void describe('cache keys', () => {
  void it('give different token keys to different users or different tags', () => {
    fc.assert(
      fc.property(id, tags, id, tags, (u1, t1, u2, t2) => {
        const same = u1 === u2 && sameTags(t1, t2);
        assert.equal(tokenKey(u1, t1) === tokenKey(u2, t2), same);
      }),
      { numRuns: 2000 },
    );
  });

  void it('give different credentials keys to different identities, guest flags or tags', () => {
    fc.assert(
      fc.property(id, fc.boolean(), tags, id, fc.boolean(), tags, (i1, g1, t1, i2, g2, t2) => {
        const same = i1 === i2 && g1 === g2 && sameTags(t1, t2);
        assert.equal(credentialsKey(i1, g1, t1) === credentialsKey(i2, g2, t2), same);
      }),
      { numRuns: 2000 },
    );
  });

  void it('use the id itself as the key in the common case (no tags, not a guest)', () => {
    assert.equal(tokenKey('user-1', undefined), 'user-1');
    assert.equal(credentialsKey('us-east-1:abc', false, undefined), 'us-east-1:abc');
    assert.notEqual(tokenKey('[x', undefined), '[x', 'an id that starts with [ takes the tuple form');
  });

  void it('hash tags independently of their key order', () => {
    assert.equal(tagsHash({ a: '1', b: '2' }), tagsHash({ b: '2', a: '1' }));
    assert.notEqual(tagsHash({ a: '1', b: '2' }), tagsHash({ a: '2', b: '1' }));
    assert.equal(tagsHash(undefined), '');
  });
});
