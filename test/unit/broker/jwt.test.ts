import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readJwtTimes } from '../../../src/broker/jwt.js';
import { fakeJwt } from '../../helpers/broker-fake-client.js';

void describe('reading JWT times without verifying', () => {
  void it('reads exp and iat in epoch seconds', () => {
    assert.deepEqual(readJwtTimes(fakeJwt({ iat: 1_700_000_000, exp: 1_700_000_900, sub: 'x' })), {
      iat: 1_700_000_000,
      exp: 1_700_000_900,
    });
  });

  void it('gives nothing for tokens that are not readable JWTs, and never throws', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64url');
    for (const bad of [
      '',
      'opaque',
      'a.b',
      'a..c',
      `a.${b64('not json')}.c`,
      `a.${b64('[1,2]')}.c`,
      `a.${b64('null')}.c`,
      'a.b.c.d',
    ]) {
      assert.deepEqual(readJwtTimes(bad), {}, bad);
    }
  });

  void it('ignores claims that are not plausible epoch seconds', () => {
    assert.deepEqual(readJwtTimes(fakeJwt({ exp: '1700000900', iat: -1 })), {});
    assert.deepEqual(readJwtTimes(fakeJwt({ exp: 1_700_000_900_000 })), {}, 'milliseconds are not seconds');
    assert.deepEqual(readJwtTimes(fakeJwt({ exp: 1_700_000_900, iat: null })), { exp: 1_700_000_900 });
  });
});
