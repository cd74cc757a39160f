import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError, type BrokerErrorCode } from '../../../src/index.js';
import { toBrokerError, type UpstreamErrorContext } from '../../../src/broker/error-mapping.js';
import { networkError, sdkError } from '../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf } from '../../helpers/broker-fixture.js';

const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';
const plain: UpstreamErrorContext = { operation: TOKEN };
const linking: UpstreamErrorContext = { operation: TOKEN, providerToken: true };
const guest: UpstreamErrorContext = { operation: CREDS, clientInput: true };

interface Case {
  readonly error: unknown;
  readonly context: UpstreamErrorContext;
  readonly code: BrokerErrorCode;
  readonly status: number;
  readonly retryable: boolean;
}

// Every exception the service model lists for the broker's operations, plus ValidationException,
// transport failures and timeouts.
const cases: Record<string, Case> = {
  'TooManyRequestsException → 503, retryable, Retry-After': {
    error: sdkError('TooManyRequestsException', 'Rate exceeded'),
    context: plain,
    code: 'ERR_COGNITO_THROTTLED',
    status: 503,
    retryable: true,
  },
  'ResourceConflictException → 409': {
    error: sdkError(
      'ResourceConflictException',
      "The login for 'graph.facebook.com' is already linked to another identity.",
    ),
    context: linking,
    code: 'ERR_CONFLICT',
    status: 409,
    retryable: false,
  },
  'DeveloperUserAlreadyRegisteredException → 409': {
    error: sdkError('DeveloperUserAlreadyRegisteredException'),
    context: plain,
    code: 'ERR_CONFLICT',
    status: 409,
    retryable: false,
  },
  'ConcurrentModificationException → 409, retryable': {
    error: sdkError('ConcurrentModificationException'),
    context: plain,
    code: 'ERR_CONFLICT',
    status: 409,
    retryable: true,
  },
  'LimitExceededException → 409 limit': {
    error: sdkError('LimitExceededException', 'An identity can have at most 20 linked logins.'),
    context: linking,
    code: 'ERR_LIMIT_EXCEEDED',
    status: 409,
    retryable: false,
  },
  'NotAuthorizedException on a provider token → 422': {
    error: sdkError('NotAuthorizedException', 'Invalid login token. Token expired.'),
    context: linking,
    code: 'ERR_PROVIDER_TOKEN_REJECTED',
    status: 422,
    retryable: false,
  },
  'NotAuthorizedException on a disabled identity → 409 disabled': {
    error: sdkError('NotAuthorizedException', "Access to Identity 'us-east-1:1' is forbidden."),
    context: { operation: CREDS },
    code: 'ERR_IDENTITY_DISABLED',
    status: 409,
    retryable: false,
  },
  'NotAuthorizedException on developer credentials → 500 misconfigured': {
    error: sdkError('NotAuthorizedException', 'This identity pool does not support the specified developer provider.'),
    context: plain,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'NotAuthorizedException about the wrong provider name while linking → 500 misconfigured': {
    error: sdkError('NotAuthorizedException', 'This identity pool does not support the specified developer provider.'),
    context: linking,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'NotAuthorizedException when the pool refuses guests → 500 misconfigured': {
    error: sdkError('NotAuthorizedException', 'Unauthenticated access is not supported for this identity pool.'),
    context: guest,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'NotAuthorizedException on our own Cognito token → 502 rejected': {
    error: sdkError('NotAuthorizedException', 'Invalid login token. Token expired.'),
    context: { operation: CREDS },
    code: 'ERR_COGNITO_REJECTED',
    status: 502,
    retryable: false,
  },
  'NotAuthorizedException on an end user’s guest id → 403': {
    error: sdkError('NotAuthorizedException', "Logins don't match."),
    context: guest,
    code: 'ERR_FORBIDDEN',
    status: 403,
    retryable: false,
  },
  'ResourceNotFoundException for the pool → 500 misconfigured': {
    error: sdkError('ResourceNotFoundException', "IdentityPool 'us-east-1:0' not found."),
    context: plain,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'ResourceNotFoundException for an identity → 404': {
    error: sdkError('ResourceNotFoundException', "Identity 'us-east-1:1' not found in IdentityPool 'us-east-1:0'."),
    context: guest,
    code: 'ERR_NOT_FOUND',
    status: 404,
    retryable: false,
  },
  'InvalidIdentityPoolConfigurationException → 500 misconfigured': {
    error: sdkError('InvalidIdentityPoolConfigurationException'),
    context: { operation: CREDS },
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'InvalidParameterException on end-user input → 400': {
    error: sdkError('InvalidParameterException', 'The pagination token is invalid.'),
    context: { operation: 'LookupDeveloperIdentity', clientInput: true },
    code: 'ERR_BAD_REQUEST',
    status: 400,
    retryable: false,
  },
  'InvalidParameterException on the broker’s own input → 500 misconfigured': {
    error: sdkError(
      'InvalidParameterException',
      'The Logins map must contain the developer provider of the identity pool.',
    ),
    context: plain,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'ValidationException on identityPoolId → 500 misconfigured': {
    error: sdkError(
      'ValidationException',
      "1 validation error detected: Value 'x' at 'identityPoolId' failed to satisfy constraint",
    ),
    context: linking,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'ValidationException on a provider token → 400': {
    error: sdkError(
      'ValidationException',
      "1 validation error detected: Value at 'logins' failed to satisfy constraint",
    ),
    context: linking,
    code: 'ERR_BAD_REQUEST',
    status: 400,
    retryable: false,
  },
  'InternalErrorException → 502, retryable': {
    error: sdkError('InternalErrorException', 'boom', 500),
    context: plain,
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    retryable: true,
  },
  'ExternalServiceException → 502, retryable': {
    error: sdkError('ExternalServiceException', 'STS failed', 400),
    context: { operation: CREDS },
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    retryable: true,
  },
  'an unmodelled 503 → 503, retryable': {
    error: sdkError('ServiceUnavailable', 'down', 503),
    context: plain,
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 503,
    retryable: true,
  },
  'an unmodelled 4xx → 502 rejected': {
    error: sdkError('SomethingNewException', 'new', 400),
    context: plain,
    code: 'ERR_COGNITO_REJECTED',
    status: 502,
    retryable: false,
  },
  'bad AWS credentials (UnrecognizedClientException) → 500 misconfigured': {
    error: sdkError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
    context: plain,
    code: 'ERR_MISCONFIGURED',
    status: 500,
    retryable: false,
  },
  'ECONNREFUSED → 502, retryable': {
    error: networkError('ECONNREFUSED'),
    context: plain,
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    retryable: true,
  },
  'ECONNRESET → 502, retryable': {
    error: networkError('ECONNRESET'),
    context: plain,
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    retryable: true,
  },
  'ENOTFOUND → 502, retryable': {
    error: networkError('ENOTFOUND'),
    context: plain,
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    retryable: true,
  },
  'the SDK’s TimeoutError → 504, retryable': {
    error: Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }),
    context: plain,
    code: 'ERR_COGNITO_TIMEOUT',
    status: 504,
    retryable: true,
  },
  'ETIMEDOUT → 504, retryable': {
    error: networkError('ETIMEDOUT'),
    context: plain,
    code: 'ERR_COGNITO_TIMEOUT',
    status: 504,
    retryable: true,
  },
  'a non-error value → 500 internal': {
    error: 'weird',
    context: plain,
    code: 'ERR_INTERNAL',
    status: 500,
    retryable: false,
  },
};

void describe('broker error mapping', () => {
  for (const [name, c] of Object.entries(cases)) {
    void it(`maps ${name}`, () => {
      const mapped = toBrokerError(c.error, c.context);
      assert.equal(mapped.code, c.code);
      assert.equal(mapped.status, c.status);
      assert.equal(mapped.retryable, c.retryable);
      assert.equal(mapped.cause, c.error, 'keeps the original as cause');
      assert.equal(mapped.expose, c.status < 500);
      if (c.code === 'ERR_COGNITO_THROTTLED') assert.equal(mapped.retryAfterSeconds, 1);
      const original = (c.error as { message?: string }).message;
      if (original !== undefined) assert.ok(!mapped.message.includes(original), 'generic message');
    });
  }

  void it('passes a BrokerError through unchanged', () => {
    const e = toBrokerError(sdkError('TooManyRequestsException'), plain);
    assert.equal(toBrokerError(e, plain), e);
  });

  void it('maps through the broker and counts the upstream error', async () => {
    const { broker, fake } = brokerFixture();
    fake.failNext(TOKEN, sdkError('TooManyRequestsException', 'Rate exceeded'));
    const err = await rejectionOf(broker.getToken('alice'));
    assert.ok(isBrokerError(err));
    assert.equal(err.code, 'ERR_COGNITO_THROTTLED');
    assert.equal(err.retryAfterSeconds, 1);
    assert.equal(broker.stats().upstreamErrors[TOKEN], 1);
  });

  void it('gives up on a hung Cognito after timeoutMs with ERR_COGNITO_TIMEOUT', async () => {
    const { broker, fake } = brokerFixture({ timeoutMs: 25 });
    fake.hang(TOKEN);
    const err = await rejectionOf(broker.getCredentials('alice'));
    assert.ok(isBrokerError(err));
    assert.equal(err.code, 'ERR_COGNITO_TIMEOUT');
    assert.equal(err.status, 504);
    assert.equal(err.retryable, true);
    const signal = fake.calls[0]!.signal;
    assert.ok(signal?.aborted, 'the SDK call was given an abort signal, and it fired');
    assert.equal(broker.stats().inFlight, 0);
  });

  void it('maps a network failure through the broker as retryable unavailability', async () => {
    const { broker, fake } = brokerFixture();
    fake.failNext(TOKEN, networkError('ECONNREFUSED'));
    const err = await rejectionOf(broker.getToken('alice'));
    assert.ok(isBrokerError(err) && err.code === 'ERR_COGNITO_UNAVAILABLE' && err.retryable);
  });

  void it('logs a misconfiguration loudly, and only generically to the caller', async () => {
    const { broker, fake, logs } = brokerFixture();
    fake.failNext(TOKEN, sdkError('ResourceNotFoundException', "IdentityPool 'us-east-1:0' not found."));
    const err = await rejectionOf(broker.getToken('alice'));
    assert.ok(isBrokerError(err) && err.code === 'ERR_MISCONFIGURED' && err.status === 500 && !err.expose);
    assert.doesNotMatch(err.message, /IdentityPool|us-east-1/);
    const loud = logs.lines().filter((l) => l.level === 50);
    assert.equal(loud.length, 1);
    assert.equal(loud[0]!.code, 'ERR_MISCONFIGURED');
    assert.equal(loud[0]!.operation, TOKEN);
    assert.equal(loud[0]!.errorName, 'ResourceNotFoundException');
  });
});
