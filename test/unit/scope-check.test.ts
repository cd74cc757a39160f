// checkScope (src/broker/scope.ts) reads each field of the caller's options once, so that a getter
// cannot pass a check and then answer something else; scopedCredentialProvider keeps a copy of the
// options, policy ARNs included, as they were when it was made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StsSendClient } from '../../src/broker/classic-flow-options.js';
import { checkScope } from '../../src/broker/scope.js';
import { brokerFixture } from '../helpers/broker-fixture.js';

/** An object whose `key` answers `first` once, then `then` forever. */
function turning(key: string, first: unknown, then: unknown): Record<string, unknown> {
  let reads = 0;
  const o: Record<string, unknown> = {};
  return Object.defineProperty(o, key, {
    enumerable: true,
    get: () => (reads++ === 0 ? first : then),
  });
}

const ROLE = 'arn:aws:iam::123456789012:role/uploads';
const ARN = 'arn:aws:iam::123456789012:policy/export';

void test('checkScope keeps what it checked: a getter answering something else later changes nothing', () => {
  assert.equal(checkScope(turning('roleArn', ROLE, 'arn:aws:iam::123456789012:role/*'), 900, 30).roleArn, ROLE);
  assert.equal(checkScope(turning('durationSeconds', 900, 10), 3600, 30).durationSeconds, 900);
  assert.equal(checkScope(turning('sessionName', 'job-1', 'x'), 900, 30).sessionName, 'job-1');
  assert.deepEqual(checkScope(turning('policyArns', [ARN], ['bad']), 900, 30).policyArns, [ARN]);
  // An array whose element turns after being checked.
  const arns = [ARN];
  let reads = 0;
  Object.defineProperty(arns, 0, { get: () => (reads++ === 0 ? ARN : 'bad'), enumerable: true });
  assert.deepEqual(checkScope({ policyArns: arns }, 900, 30).policyArns, [ARN]);
});

void test('scopedCredentialProvider sends the policy ARNs given when it was made', async () => {
  const sent: unknown[] = [];
  let now = (): number => 0;
  const sts: StsSendClient = {
    send: ((c: { input: { PolicyArns?: unknown } }) => {
      sent.push(c.input.PolicyArns);
      return Promise.resolve({
        Credentials: {
          AccessKeyId: 'ASIAEXAMPLE',
          SecretAccessKey: 's',
          SessionToken: 't',
          Expiration: new Date(now() + 3600_000),
        },
      });
    }) as never,
  };
  const f = brokerFixture({ stsClient: sts, classicFlow: { roleArn: ROLE }, quota: false });
  now = () => f.clock.now();
  const policyArns = [ARN];
  const provider = f.broker.scopedCredentialProvider('user-1', { policyArns });
  policyArns.push('arn:aws:iam::123456789012:policy/admin');
  await provider();
  assert.deepEqual(sent, [[{ arn: ARN }]]);
});
