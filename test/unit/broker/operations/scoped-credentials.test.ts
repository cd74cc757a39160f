// The classic flow's broker side over fakes: STS's refusals become BrokerErrors with the right code
// and status (a bad policy the caller's 400), the configured role and duration reach STS, the key
// never carries the policy text, the cache is bounded, and the options are checked at creation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  IDPCommunicationErrorException,
  InvalidIdentityTokenException,
  type AssumeRoleWithWebIdentityCommandInput,
} from '@aws-sdk/client-sts';
import { createBroker } from '../../../../src/index.js';
import type { StsSendClient } from '../../../../src/broker/classic-flow-options.js';
import { isBrokerError } from '../../../../src/errors.js';
import { DEV_PROVIDER, POOL_ID, sdkError } from '../../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf } from '../../../helpers/broker-fixture.js';

const ROLE = 'arn:aws:iam::123456789012:role/scoped-uploads';
const POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}';

/** A fake STS: answers with fresh credentials, or throws the queued errors first. */
function fakeSts(now: () => number) {
  const inputs: AssumeRoleWithWebIdentityCommandInput[] = [];
  const failures: Error[] = [];
  let n = 0;
  const client: StsSendClient = {
    send: (command: { input: AssumeRoleWithWebIdentityCommandInput }) => {
      inputs.push(command.input);
      const failure = failures.shift();
      if (failure !== undefined) return Promise.reject(failure);
      n += 1;
      return Promise.resolve({
        Credentials: {
          AccessKeyId: `ASIAFAKE${n}`,
          SecretAccessKey: `secret-${n}`,
          SessionToken: `session-${n}`,
          Expiration: new Date(now() + (command.input.DurationSeconds ?? 3600) * 1000),
        },
        PackedPolicySize: 6,
      });
    },
  };
  return { client, inputs, failures };
}

function setup(classicFlow: { roleArn?: string; durationSeconds?: number } = { roleArn: ROLE }, cacheMax?: number) {
  let now = (): number => 0;
  const sts = fakeSts(() => now());
  const f = brokerFixture({
    stsClient: sts.client,
    classicFlow,
    ...(cacheMax === undefined ? {} : { cache: { max: cacheMax } }),
  });
  now = () => f.clock.now();
  return { ...f, sts };
}

const meta = { $metadata: {} };

void describe('getScopedCredentials over fakes', () => {
  void test('sends the configured role, the duration, the policy and the sorted ARNs, with the user token', async () => {
    const { broker, sts } = setup({ roleArn: ROLE, durationSeconds: 7200 });
    const c = await broker.getScopedCredentials('u-1', {
      policy: POLICY,
      policyArns: ['arn:aws:iam::aws:policy/b', 'arn:aws:iam::aws:policy/a'],
    });
    const token = await broker.getToken('u-1');
    assert.equal(c.identityId, token.identityId);
    assert.deepEqual(sts.inputs, [
      {
        RoleArn: ROLE,
        RoleSessionName: `cib-${token.identityId.split(':')[1]}`,
        WebIdentityToken: token.token,
        DurationSeconds: 7200,
        Policy: POLICY,
        PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/a' }, { arn: 'arn:aws:iam::aws:policy/b' }],
      },
    ]);
  });

  void test("STS's refusals: the policy is the caller's 400, the trust policy a misconfiguration", async () => {
    const { broker, sts, logs } = setup();
    const cases: [Error, string, number][] = [
      [new MalformedPolicyDocumentException({ message: `bad ${POLICY}`, ...meta }), 'ERR_BAD_POLICY', 400],
      [new PackedPolicyTooLargeException({ message: 'too large', ...meta }), 'ERR_BAD_POLICY', 400],
      [
        sdkError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403),
        'ERR_MISCONFIGURED',
        500,
      ],
      [new IDPCommunicationErrorException({ message: 'idp down', ...meta }), 'ERR_COGNITO_UNAVAILABLE', 502],
      [sdkError('RegionDisabledException', 'off', 403), 'ERR_MISCONFIGURED', 500],
      [sdkError('Throttling', 'Rate exceeded', 400), 'ERR_COGNITO_THROTTLED', 503],
    ];
    for (const [error, code, status] of cases) {
      sts.failures.push(error);
      const err = await rejectionOf(broker.getScopedCredentials('u-2', { policy: POLICY }));
      assert.ok(isBrokerError(err), String(err));
      assert.equal(err.code, code, String(error));
      assert.equal(err.status, status);
      assert.equal(err.message.includes('s3:PutObject'), false);
    }
    // The log names the scope's hash, never the policy.
    assert.equal(logs.text().includes('s3:PutObject'), false);
  });

  void test('a refused role names sts:TagSession when principal tags are set; a packed-size refusal names the tags', async () => {
    let now = (): number => 0;
    const sts = fakeSts(() => now());
    const f = brokerFixture({
      stsClient: sts.client,
      classicFlow: { roleArn: ROLE },
      principalTags: (userId) => (userId === 'tagged' ? { team: 'a' } : undefined),
    });
    now = () => f.clock.now();
    const refused = () => sdkError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
    sts.failures.push(refused());
    const tagged = await rejectionOf(f.broker.getScopedCredentials('tagged'));
    assert.ok(isBrokerError(tagged));
    assert.equal(tagged.code, 'ERR_MISCONFIGURED');
    assert.match(tagged.message, /sts:TagSession/);
    sts.failures.push(refused());
    const plain = await rejectionOf(f.broker.getScopedCredentials('plain'));
    assert.ok(isBrokerError(plain));
    assert.equal(plain.code, 'ERR_MISCONFIGURED');
    assert.doesNotMatch(plain.message, /TagSession/);
    sts.failures.push(new PackedPolicyTooLargeException({ message: 'too large', ...meta }));
    const large = await rejectionOf(f.broker.getScopedCredentials('tagged', { policy: POLICY }));
    assert.ok(isBrokerError(large));
    assert.match(large.message, /principal tags/);
  });

  void test('a token STS refuses is reloaded once; twice is ERR_COGNITO_REJECTED', async () => {
    const { broker, sts, fake } = setup();
    await broker.getToken('u-3');
    const tokenCalls = (): number =>
      fake.calls.filter((c) => c.operation === 'GetOpenIdTokenForDeveloperIdentity').length;
    sts.failures.push(new InvalidIdentityTokenException({ message: 'no', ...meta }));
    await broker.getScopedCredentials('u-3');
    assert.equal(tokenCalls(), 2);
    assert.equal(sts.inputs.length, 2);
    assert.notEqual(sts.inputs[0]!.WebIdentityToken, sts.inputs[1]!.WebIdentityToken);
    sts.failures.push(sdkError('ExpiredTokenException', 'expired'), sdkError('ExpiredTokenException', 'expired'));
    const err = await rejectionOf(broker.getScopedCredentials('u-3', { durationSeconds: 900 }));
    assert.ok(isBrokerError(err));
    assert.equal(err.code, 'ERR_COGNITO_REJECTED');
    assert.equal(tokenCalls(), 3);
  });

  void test('reads the pool role once when no role is configured', async () => {
    const { broker, sts, fake } = setup({});
    fake.handlers.GetIdentityPoolRoles = () => ({ IdentityPoolId: POOL_ID, Roles: { authenticated: ROLE } });
    await Promise.all([broker.getScopedCredentials('u-4'), broker.getScopedCredentials('u-5', { policy: POLICY })]);
    await broker.getScopedCredentials('u-6');
    assert.equal(fake.calls.filter((c) => c.operation === 'GetIdentityPoolRoles').length, 1);
    assert.ok(sts.inputs.every((i) => i.RoleArn === ROLE));
  });

  void test('is bounded by cache.max', async () => {
    const { broker } = setup({ roleArn: ROLE }, 3);
    for (let i = 0; i < 6; i++) await broker.getScopedCredentials('u-7', { durationSeconds: 900 + i });
    const s = broker.stats().scoped;
    assert.equal(s.size, 3);
    assert.equal(s.evictions, 3);
  });

  void test("one user's many scopes cannot push other users' entries out: classicFlow.maxScopesPerUser (16)", async () => {
    const { broker, sts } = setup({ roleArn: ROLE }, 100);
    await broker.getScopedCredentials('victim', { durationSeconds: 900 });
    const scope = (i: number) => ({ policy: JSON.stringify({ Version: '2012-10-17', Statement: [], Sid: `f${i}` }) });
    for (let i = 0; i < 100; i++) await broker.getScopedCredentials('greedy', scope(i));
    assert.equal(broker.stats().scoped.size, 1 + 16);
    const calls = sts.inputs.length;
    await broker.getScopedCredentials('victim', { durationSeconds: 900 });
    await broker.getScopedCredentials('greedy', scope(99)); // among its 16 latest: cached
    assert.equal(sts.inputs.length, calls);
    await broker.getScopedCredentials('greedy', scope(0)); // its oldest: dropped, loaded again
    assert.equal(sts.inputs.length, calls + 1);
  });

  void test('classicFlow.maxScopesPerUser is its own: 2 keeps the two latest scopes', async () => {
    let now = (): number => 0;
    const sts = fakeSts(() => now());
    const f = brokerFixture({ stsClient: sts.client, classicFlow: { roleArn: ROLE, maxScopesPerUser: 2 } });
    now = () => f.clock.now();
    for (const d of [900, 1000, 1100]) await f.broker.getScopedCredentials('u-8', { durationSeconds: d });
    await f.broker.getScopedCredentials('u-8', { durationSeconds: 900 }); // dropped by 1100: loaded again
    assert.equal(f.broker.stats().scoped.size, 2);
    assert.equal(sts.inputs.length, 4);
  });

  void test('checks classicFlow and stsClient at creation', () => {
    const base = { identityPoolId: POOL_ID, developerProviderName: DEV_PROVIDER };
    const bad: unknown[] = [
      { classicFlow: { roleArn: 'role/x' } },
      { classicFlow: { durationSeconds: 600 } },
      { classicFlow: { durationSeconds: 50_000 } },
      { classicFlow: { durationSeconds: 900 }, skewGraceSeconds: 450, tokenDurationSeconds: 3600 },
      { classicFlow: { role: ROLE } },
      { classicFlow: { maxScopesPerUser: 0 } },
      { classicFlow: { maxScopesPerUser: 1.5 } },
      { classicFlow: { maxScopesPerUser: '16' } },
      { classicFlow: { maxScopesPerUser: 1001 } },
      { classicFlow: 'yes' },
      { stsClient: {} },
    ];
    for (const extra of bad) {
      assert.throws(() => createBroker({ ...base, ...(extra as object) }), TypeError, JSON.stringify(extra));
    }
    createBroker({ ...base, classicFlow: { roleArn: ROLE, durationSeconds: 43_200, maxScopesPerUser: 1000 } });
  });
});

void describe('PackedPolicySize', () => {
  void test('a scope near the packed size limit is logged with its hash, never its text', async () => {
    const { broker, sts, logs } = setup();
    const send = sts.client.send.bind(sts.client);
    (sts.client as { send: unknown }).send = async (command: never, options: never) => ({
      ...((await send(command, options)) as object),
      PackedPolicySize: 93,
    });
    await broker.getScopedCredentials('u-9', { policy: POLICY });
    const lines = logs.withMsg('session policy close to the packed size limit');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.packedPolicySize, 93);
    assert.match(String(lines[0]!.scope), /^[\w-]{32}$/);
    assert.equal(logs.text().includes('s3:PutObject'), false);
  });
});
