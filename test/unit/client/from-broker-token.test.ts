import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BrokerClientError,
  fromBrokerToken,
  type BrokerTokenOptions,
  type CognitoIdentityParameters,
  type FromCognitoIdentity,
} from '../../../src/client/index.js';
import {
  drive,
  fakeFetch,
  httpDate,
  ManualClock,
  ManualTimers,
  response,
  type FetchHandler,
} from '../../helpers/client-fakes.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;
const POOL = 'eu-west-1:0f0e0d0c-0b0a-4009-8007-060504030201';
const IDENTITY = 'eu-west-1:11111111-2222-4333-8444-555555555555';
const TOKEN = 'eyJraWQiOiJldS13ZXN0LTEtMSJ9.eyJzdWIiOiJldS13ZXN0LTEifQ.signature-part';

function tokenBody(n: number): Record<string, unknown> {
  return {
    identityId: IDENTITY,
    token: `${TOKEN}-${n}`,
    expiresAt: new Date(T0 + 900_000).toISOString(),
    expiresIn: 900,
    identityPoolId: POOL,
    loginsKey: 'cognito-identity.amazonaws.com',
  };
}

/** A stand-in for the SDK's `fromCognitoIdentity` that records its parameters and its calls. */
function fakeCognito(answer: (p: CognitoIdentityParameters, n: number) => Promise<unknown>) {
  const parameters: CognitoIdentityParameters[] = [];
  let calls = 0;
  const fromCognitoIdentity = ((p: CognitoIdentityParameters) => {
    parameters.push(p);
    return async () => answer(p, ++calls);
  }) as FromCognitoIdentity;
  return { fromCognitoIdentity, parameters, calls: () => calls };
}

const cognitoExpiring = (at: number) => (_p: CognitoIdentityParameters, n: number) =>
  Promise.resolve({
    identityId: IDENTITY,
    accessKeyId: `ASIACOGNITO${n}`,
    secretAccessKey: `cognito-secret-${n}`,
    sessionToken: `cognito-session-${n}`,
    expiration: new Date(at + (n - 1) * HOUR),
  });

function setup(
  handler: FetchHandler,
  cognito: ReturnType<typeof fakeCognito>,
  options: Partial<BrokerTokenOptions> = {},
) {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers(clock);
  const { fetch, calls } = fakeFetch(handler);
  const provider = fromBrokerToken({
    url: 'https://api.example/aws/token',
    fetch,
    clock,
    timers,
    fromCognitoIdentity: cognito.fromCognitoIdentity,
    ...options,
  });
  return { clock, timers, calls, provider };
}

async function rejection(promise: Promise<unknown>): Promise<BrokerClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BrokerClientError, `a BrokerClientError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

void describe('fromBrokerToken', () => {
  void it("hands the identity id, the token under its logins key and the pool's region to fromCognitoIdentity", async () => {
    const cognito = fakeCognito(cognitoExpiring(T0 + HOUR));
    const s = setup((_c, n) => response(200, tokenBody(n), { date: httpDate(T0) }), cognito);
    const c = await s.provider();
    assert.deepEqual(cognito.parameters, [
      {
        identityId: IDENTITY,
        logins: { 'cognito-identity.amazonaws.com': `${TOKEN}-1` },
        clientConfig: { region: 'eu-west-1' },
        customRoleArn: undefined,
      },
    ]);
    assert.equal(c.identityId, IDENTITY);
    assert.equal(c.accessKeyId, 'ASIACOGNITO1');
    assert.equal(c.secretAccessKey, 'cognito-secret-1');
    assert.equal(c.sessionToken, 'cognito-session-1');
    assert.equal(c.expiration.getTime(), T0 + HOUR - 1000);
  });

  void it('merges clientConfig over the region and passes customRoleArn', async () => {
    const cognito = fakeCognito(cognitoExpiring(T0 + HOUR));
    const s = setup(() => response(200, tokenBody(1)), cognito, {
      clientConfig: { endpoint: 'http://127.0.0.1:9229' },
      customRoleArn: 'arn:aws:iam::123456789012:role/reader',
    });
    await s.provider();
    assert.deepEqual(cognito.parameters[0]?.clientConfig, { region: 'eu-west-1', endpoint: 'http://127.0.0.1:9229' });
    assert.equal(cognito.parameters[0].customRoleArn, 'arn:aws:iam::123456789012:role/reader');
  });

  void it('serves concurrent calls with one token request and one Cognito call', async () => {
    const cognito = fakeCognito(cognitoExpiring(T0 + HOUR));
    const s = setup(() => response(200, tokenBody(1)), cognito);
    const all = await Promise.all(Array.from({ length: 10 }, () => s.provider()));
    assert.equal(s.calls.length, 1);
    assert.equal(cognito.calls(), 1);
    assert.ok(all.every((c) => c === all[0]));
  });

  void it("refreshes before Cognito's expiration on the broker's clock, with a new token", async () => {
    // The broker (and AWS) are 5 minutes behind the client.
    const skew = -300_000;
    const cognito = fakeCognito(cognitoExpiring(T0 + skew + HOUR));
    const s = setup((_c, n) => response(200, tokenBody(n), { date: httpDate(s.clock.now() + skew) }), cognito);
    await s.provider();
    const refreshAt = T0 + HOUR - 1000 - 60_000;
    s.clock.set(refreshAt - 1);
    await s.provider();
    assert.equal(cognito.calls(), 1);
    s.clock.set(refreshAt);
    const c = await s.provider();
    assert.equal(c.accessKeyId, 'ASIACOGNITO2');
    assert.equal(s.calls.length, 2);
    assert.equal(cognito.parameters[1]?.logins['cognito-identity.amazonaws.com'], `${TOKEN}-2`);
  });

  void it('retries the token request on 503 like fromBroker', async () => {
    const cognito = fakeCognito(cognitoExpiring(T0 + HOUR));
    const s = setup(
      (_c, n) => (n === 1 ? response(503, {}, { 'retry-after': '1' }) : response(200, tokenBody(n))),
      cognito,
    );
    await drive(s.provider(), s.timers);
    assert.equal(s.calls.length, 2);
    assert.equal(cognito.calls(), 1);
  });

  void it('rejects a 401 with ERR_UNAUTHENTICATED without calling Cognito', async () => {
    const cognito = fakeCognito(cognitoExpiring(T0 + HOUR));
    const s = setup(() => response(401, { code: 'ERR_UNAUTHENTICATED' }), cognito);
    assert.equal((await rejection(s.provider())).code, 'ERR_UNAUTHENTICATED');
    assert.equal(cognito.calls(), 0);
  });

  void it("rejects a Cognito failure with ERR_COGNITO, the SDK's error as cause and no token in the message", async () => {
    const sdkError = Object.assign(new Error('Invalid login token.'), { name: 'NotAuthorizedException' });
    const cognito = fakeCognito(() => Promise.reject(sdkError));
    const s = setup(() => response(200, tokenBody(1)), cognito);
    const err = await rejection(s.provider());
    assert.equal(err.code, 'ERR_COGNITO');
    assert.equal(err.cause, sdkError);
    assert.equal(err.status, undefined);
    assert.ok(!err.message.includes(TOKEN));
    // Not cached: the next call asks for a token again.
    await rejection(s.provider());
    assert.equal(s.calls.length, 2);
  });

  for (const [label, creds, code] of [
    ['no secret key', { accessKeyId: 'ASIA1', sessionToken: 's' }, 'ERR_COGNITO'],
    ['no session token', { accessKeyId: 'ASIA1', secretAccessKey: 'k' }, 'ERR_COGNITO'],
    ['no expiration', { accessKeyId: 'ASIA1', secretAccessKey: 'k', sessionToken: 's' }, 'ERR_BAD_RESPONSE'],
    [
      'an expired expiration',
      { accessKeyId: 'ASIA1', secretAccessKey: 'k', sessionToken: 's', expiration: new Date(T0 - HOUR) },
      'ERR_BAD_RESPONSE',
    ],
  ] as const) {
    void it(`rejects Cognito credentials with ${label} as ${code}`, async () => {
      const cognito = fakeCognito(() => Promise.resolve(creds));
      const s = setup(() => response(200, tokenBody(1)), cognito);
      assert.equal((await rejection(s.provider())).code, code);
    });
  }

  for (const [label, patch] of [
    ['no token', { token: undefined }],
    ['no loginsKey', { loginsKey: '' }],
    ['no identityId', { identityId: 7 }],
    ['an identityPoolId that is not REGION:GUID', { identityPoolId: 'us-east-1_userpool' }],
  ] as const) {
    void it(`rejects a token answer with ${label} as ERR_BAD_RESPONSE without calling Cognito`, async () => {
      const cognito = fakeCognito(cognitoExpiring(T0 + HOUR));
      const s = setup(() => response(200, { ...tokenBody(1), ...patch }), cognito);
      const err = await rejection(s.provider());
      assert.equal(err.code, 'ERR_BAD_RESPONSE');
      assert.ok(!err.message.includes(TOKEN));
      assert.equal(cognito.calls(), 0);
    });
  }

  void it('refuses a missing fromCognitoIdentity or a bad clientConfig with a TypeError', () => {
    const { fetch } = fakeFetch(() => response(200, {}));
    assert.throws(
      () => fromBrokerToken({ url: '/aws/token', fetch } as unknown as BrokerTokenOptions),
      /^TypeError: fromCognitoIdentity must be a function$/,
    );
    const cognito = fakeCognito(cognitoExpiring(T0));
    assert.throws(
      () =>
        fromBrokerToken({
          url: '/aws/token',
          fetch,
          fromCognitoIdentity: cognito.fromCognitoIdentity,
          clientConfig: 'eu-west-1',
        } as unknown as BrokerTokenOptions),
      /^TypeError: clientConfig must be an object$/,
    );
  });
});
