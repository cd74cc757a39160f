// What the README's "Deploy to AWS" says each IAM mistake looks like: Cognito's answers, as the
// broker maps them (ERR_MISCONFIGURED, 500) and as preflight() names them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BROKER_AWS_OPERATIONS } from '../../../src/broker/aws-operations.js';
import { toBrokerError, type UpstreamErrorContext } from '../../../src/broker/error-mapping.js';
import { isBrokerError } from '../../../src/index.js';
import { POOL_ID, sdkError } from '../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf } from '../../helpers/broker-fixture.js';

const PRINCIPALS = [
  'arn:aws:sts::123456789012:assumed-role/my-backend-role/task-1',
  'arn:aws:iam::123456789012:user/backend',
];

function denial(name: string, operation: string, principal: string): Error {
  return sdkError(
    name,
    `User: ${principal} is not authorized to perform: cognito-identity:${operation} on resource: arn:aws:cognito-identity:us-east-1:123456789012:identitypool/${POOL_ID} because no identity-based policy allows the cognito-identity:${operation} action`,
    400,
  );
}

function mapped(err: Error, context: UpstreamErrorContext): { code: string; status: number } {
  const b = toBrokerError(err, context);
  return { code: b.code, status: b.status };
}

const MISCONFIGURED = { code: 'ERR_MISCONFIGURED', status: 500 };

void describe('IAM mistakes, as the README tables them', () => {
  void test('a signed call the policy does not allow is ERR_MISCONFIGURED, whatever the call carried', () => {
    const signed = Object.entries(BROKER_AWS_OPERATIONS)
      .filter(([, auth]) => auth === 'signed')
      .map(([action]) => action.split(':')[1]!);
    assert.ok(signed.length >= 7);
    for (const operation of signed) {
      for (const name of ['AccessDeniedException', 'NotAuthorizedException']) {
        for (const principal of PRINCIPALS) {
          for (const extra of [{}, { providerToken: true }, { clientInput: true }]) {
            assert.deepEqual(
              mapped(denial(name, operation, principal), { operation, ...extra }),
              MISCONFIGURED,
              `${operation} ${name} ${principal} ${JSON.stringify(extra)}`,
            );
          }
        }
      }
    }
  });

  void test('missing, bad or expired AWS credentials are ERR_MISCONFIGURED', () => {
    for (const name of ['CredentialsProviderError', 'UnrecognizedClientException', 'ExpiredTokenException']) {
      assert.deepEqual(
        mapped(sdkError(name), { operation: 'GetOpenIdTokenForDeveloperIdentity' }),
        MISCONFIGURED,
        name,
      );
    }
  });

  void test('a role Cognito cannot assume (its trust policy) is ERR_MISCONFIGURED on GetCredentialsForIdentity', () => {
    const err = sdkError(
      'InvalidIdentityPoolConfigurationException',
      'Invalid identity pool configuration. Check assigned IAM roles for this pool.',
    );
    assert.deepEqual(mapped(err, { operation: 'GetCredentialsForIdentity' }), MISCONFIGURED);
    assert.deepEqual(mapped(err, { operation: 'GetCredentialsForIdentity', clientInput: true }), MISCONFIGURED);
  });

  void test('guests on a pool that allows none are ERR_MISCONFIGURED', () => {
    const err = sdkError('NotAuthorizedException', 'Unauthenticated access is not supported for this identity pool.');
    assert.deepEqual(mapped(err, { operation: 'GetId' }), MISCONFIGURED);
    assert.deepEqual(mapped(err, { operation: 'GetCredentialsForIdentity', clientInput: true }), MISCONFIGURED);
  });

  void test("preflight() names the action to allow, and not the caller's ARN", async () => {
    for (const name of ['AccessDeniedException', 'NotAuthorizedException']) {
      const { broker, fake } = brokerFixture();
      fake.failNext('DescribeIdentityPool', denial(name, 'DescribeIdentityPool', PRINCIPALS[0]!));
      const err = await rejectionOf(broker.preflight());
      assert.ok(isBrokerError(err));
      assert.equal(err.code, 'ERR_MISCONFIGURED');
      assert.equal(
        err.message,
        `the AWS credentials may not call cognito-identity:DescribeIdentityPool on identity pool ${POOL_ID} (${name}): allow it in their IAM policy`,
      );
      assert.doesNotMatch(err.message, /assumed-role|123456789012/);
    }
  });
});
