// redisFleet's instance counts for the quota fallback: validated, each bad value a TypeError naming it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { redisFleet, type RedisFleetOptions } from '../../../src/fleet/index.js';

const client = {
  isReady: false,
  evalSha: () => Promise.resolve(0),
  eval: () => Promise.resolve(0),
  duplicate: () => {
    throw new Error('not used');
  },
  on: () => undefined,
} as unknown as RedisFleetOptions['client'];
const encryptionKeys = { k1: randomBytes(32).toString('base64') };

void it('expectedInstances and maxInstances: integers, max ≥ expected, else a TypeError naming the option', () => {
  assert.ok(redisFleet({ client, encryptionKeys }));
  assert.ok(redisFleet({ client, encryptionKeys, expectedInstances: 1 }));
  assert.ok(redisFleet({ client, encryptionKeys, expectedInstances: 500 }));
  assert.ok(redisFleet({ client, encryptionKeys, expectedInstances: 5, maxInstances: 5 }));
  for (const bad of [0, -1, 2.5, 1001, Number.NaN, '3']) {
    assert.throws(
      () => redisFleet({ client, encryptionKeys, expectedInstances: bad as number }),
      (err: unknown) =>
        err instanceof TypeError && /expectedInstances must be an integer in \[1, 1000\]/.test(err.message),
      String(bad),
    );
  }
  for (const bad of [0, 2, 2.5, 100_001, '10']) {
    assert.throws(
      () => redisFleet({ client, encryptionKeys, expectedInstances: 3, maxInstances: bad as number }),
      (err: unknown) =>
        err instanceof TypeError && /maxInstances must be an integer in \[3, 100000\]/.test(err.message),
      String(bad),
    );
  }
});
