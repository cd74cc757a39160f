import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AWS_DEFAULT_QUOTAS, QuotaLimiter, quotaLimiter } from '../../../src/emulator/quotas.js';

void test('lets the quota through in any one-second window, per region and operation', () => {
  const q = new QuotaLimiter({ GetId: 2 });
  const t = 1_700_000_000_000;
  assert.deepEqual(
    [q.take('us-east-1', 'GetId', t), q.take('us-east-1', 'GetId', t + 10), q.take('us-east-1', 'GetId', t + 20)],
    [true, true, false],
  );
  // Another region and an unlimited operation have budgets of their own.
  assert.equal(q.take('eu-central-1', 'GetId', t + 20), true);
  assert.equal(q.take('us-east-1', 'DescribeIdentity', t + 20), true);
  // The window slides: the first call leaves it one second after it arrived.
  assert.equal(q.take('us-east-1', 'GetId', t + 999), false);
  assert.equal(q.take('us-east-1', 'GetId', t + 1000), true);
  assert.equal(q.take('us-east-1', 'GetId', t + 1001), false);
  assert.equal(q.take('us-east-1', 'GetId', t + 1010), true);
});

void test('the documented defaults, and the option values', () => {
  assert.deepEqual(AWS_DEFAULT_QUOTAS, {
    GetOpenIdTokenForDeveloperIdentity: 50,
    GetCredentialsForIdentity: 200,
    GetOpenIdToken: 200,
    GetId: 25,
    ListIdentities: 5,
    DeleteIdentities: 10,
  });
  assert.equal(quotaLimiter(undefined), undefined);
  assert.equal(quotaLimiter('none'), undefined);
  assert.ok(quotaLimiter('aws') instanceof QuotaLimiter);
  assert.throws(() => quotaLimiter('fast'), TypeError);
  assert.throws(() => quotaLimiter({ GetId: 1 }), /quotas must be 'aws' or 'none'/);
});
