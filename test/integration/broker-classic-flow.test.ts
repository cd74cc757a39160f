// The classic flow (broker.getScopedCredentials) with the real AWS SDK against the emulator: its STS
// verifies the broker's OpenID token and mints credentials whose GetCallerIdentity works; durations
// are honoured; bad scopes are refused before any call; one STS call per (user, scope) per lifetime,
// and no extra Cognito call while the user's token is valid; refresh ahead without waiting;
// link, merge and forgetUser drop the user's scoped entries; preflight says whether the pool allows it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { isBrokerError, type BrokerError } from '../../src/errors.js';
import type { IdentityCredentials } from '../../src/broker/types.js';
import { startTestBroker, type TestBroker } from '../../src/testing/index.js';
import { rejectionOf } from '../helpers/broker-fixture.js';
import { logSink } from '../helpers/log-sink.js';
import { SecretLedger } from '../helpers/secret-ledger.js';
import { ManualClock } from '../helpers/manual-clock.js';

const UPLOAD_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::uploads/users/u-1/*' }],
});

/** GetCallerIdentity signed with `c`, through the emulator's STS. */
async function callerOf(t: TestBroker, c: IdentityCredentials): Promise<string> {
  const sts = new STSClient({
    region: t.region,
    endpoint: t.endpoint,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
    maxAttempts: 1,
  });
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return out.Arn ?? '';
  } finally {
    sts.destroy();
  }
}

async function refusal(p: Promise<unknown>, code: string, status: number): Promise<BrokerError> {
  const err = await rejectionOf(p);
  assert.ok(isBrokerError(err), String(err));
  assert.equal(err.code, code, err.message);
  assert.equal(err.status, status);
  return err;
}

void describe('getScopedCredentials against the emulator', () => {
  const clock = new ManualClock(Date.now());
  // Every log line of the broker (debug included) is checked for every token, key, session token
  // and session policy seen, after the last test.
  const logs = logSink();
  const ledger = new SecretLedger();
  ledger.checkAfter(() => logs.text());
  let t: TestBroker;
  before(async () => {
    t = await startTestBroker({
      pool: { allowClassicFlow: true },
      broker: { clock, logger: logs.logger },
      emulator: { clock },
    });
  });
  /** Remembers the secrets of credentials, for the ledger. */
  const seen = (c: IdentityCredentials): IdentityCredentials => {
    ledger.add(c.secretAccessKey, c.sessionToken);
    return c;
  };
  after(async () => {
    await t.stop();
  });
  const authRole = (): string => t.emulator.pools[0]!.roles.authenticated!;

  void test('mints credentials STS signs for the pool role; GetCallerIdentity names the role and the identity', async () => {
    t.emulator.resetCounters();
    const c = seen(await t.broker.getScopedCredentials('caller-1', { policy: UPLOAD_POLICY, durationSeconds: 900 }));
    const token = await t.broker.getToken('caller-1');
    ledger.add(token.token, UPLOAD_POLICY);
    assert.equal(c.identityId, token.identityId);
    assert.match(c.accessKeyId, /^ASIA/);
    const roleName = authRole().slice(authRole().lastIndexOf('/') + 1);
    const guid = token.identityId.split(':')[1]!;
    assert.equal(await callerOf(t, c), `arn:aws:sts::${authRole().split(':')[4]}:assumed-role/${roleName}/cib-${guid}`);
    // One token call, one pool-role read, one STS call; the token is the cached one.
    assert.deepEqual(t.emulator.counters(), {
      GetOpenIdTokenForDeveloperIdentity: 1,
      GetIdentityPoolRoles: 1,
      AssumeRoleWithWebIdentity: 1,
      GetCallerIdentity: 1,
    });
  });

  void test('honours the duration: 900 s and 43,200 s (12 hours), and the session name', async () => {
    const short = await t.broker.getScopedCredentials('dur-1', { durationSeconds: 900 });
    assert.equal(short.expiration, Math.floor(clock.now() / 1000) * 1000 + 900_000);
    const long = await t.broker.getScopedCredentials('dur-1', { durationSeconds: 43_200, sessionName: 'nightly-job' });
    assert.equal(long.expiration, Math.floor(clock.now() / 1000) * 1000 + 43_200_000);
    assert.match(await callerOf(t, long), /\/nightly-job$/);
    // The default duration (classicFlow.durationSeconds, 3600).
    const def = await t.broker.getScopedCredentials('dur-1');
    assert.equal(def.expiration, Math.floor(clock.now() / 1000) * 1000 + 3_600_000);
  });

  void test('the provider form feeds an AWS SDK client', async () => {
    const provider = t.broker.scopedCredentialProvider('prov-1', { durationSeconds: 43_200 });
    const sts = new STSClient({ region: t.region, endpoint: t.endpoint, credentials: provider, maxAttempts: 1 });
    try {
      const out = await sts.send(new GetCallerIdentityCommand({}));
      assert.match(out.Arn ?? '', /:assumed-role\//);
      const id = await provider();
      assert.equal(id.expiration?.getTime(), Math.floor(clock.now() / 1000) * 1000 + 43_200_000);
    } finally {
      sts.destroy();
    }
  });

  void test('one STS call per (user, scope) and no Cognito call while the token is valid', async () => {
    await t.broker.getToken('econ-1');
    t.emulator.resetCounters();
    const a = await t.broker.getScopedCredentials('econ-1', { policy: UPLOAD_POLICY });
    const again = await t.broker.getScopedCredentials('econ-1', { policy: UPLOAD_POLICY });
    assert.equal(again.accessKeyId, a.accessKeyId);
    // Another scope: its own entry and call, the same token.
    const other = await t.broker.getScopedCredentials('econ-1', { policy: UPLOAD_POLICY, durationSeconds: 900 });
    assert.notEqual(other.accessKeyId, a.accessKeyId);
    // The order of policy ARNs is not a new scope.
    const arns = ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/uploads'];
    const x = await t.broker.getScopedCredentials('econ-1', { policyArns: arns });
    const y = await t.broker.getScopedCredentials('econ-1', { policyArns: [...arns].reverse() });
    assert.equal(x.accessKeyId, y.accessKeyId);
    assert.deepEqual(t.emulator.counters(), { AssumeRoleWithWebIdentity: 3 });
  });

  void test('1,000 concurrent callers for one (user, scope): one token call and one STS call', async () => {
    t.emulator.resetCounters();
    const before = t.broker.stats().scoped;
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => t.broker.getScopedCredentials('crowd-1', { policy: UPLOAD_POLICY })),
    );
    assert.equal(new Set(all.map((c) => c.accessKeyId)).size, 1);
    assert.deepEqual(t.emulator.counters(), { GetOpenIdTokenForDeveloperIdentity: 1, AssumeRoleWithWebIdentity: 1 });
    const after = t.broker.stats().scoped;
    assert.equal(after.misses - before.misses, 1000);
    assert.equal(after.coalesced - before.coalesced, 999);
  });

  void test('bad scopes are refused with their own codes before any call', async () => {
    t.emulator.resetCounters();
    const b = t.broker;
    await refusal(b.getScopedCredentials('bad-1', { policy: 'not json' }), 'ERR_BAD_POLICY', 400);
    await refusal(b.getScopedCredentials('bad-1', { policy: '[1]' }), 'ERR_BAD_POLICY', 400);
    const long = JSON.stringify({ Version: '2012-10-17', Statement: [], pad: 'x'.repeat(2048) });
    await refusal(b.getScopedCredentials('bad-1', { policy: long }), 'ERR_BAD_POLICY', 400);
    await refusal(b.getScopedCredentials('bad-1', { policy: '{"a":"\u2603"}' }), 'ERR_BAD_POLICY', 400);
    const arns = Array.from({ length: 11 }, (_, i) => `arn:aws:iam::123456789012:policy/p${i}`);
    await refusal(b.getScopedCredentials('bad-1', { policyArns: arns }), 'ERR_BAD_POLICY', 400);
    await refusal(b.getScopedCredentials('bad-1', { policyArns: ['arn:aws:s3:::bucket'] }), 'ERR_BAD_POLICY', 400);
    for (const durationSeconds of [899, 43_201, 1000.5]) {
      await refusal(b.getScopedCredentials('bad-1', { durationSeconds }), 'ERR_BAD_REQUEST', 400);
    }
    for (const sessionName of ['a', 'has space', 'x'.repeat(65), 'colon:no']) {
      await refusal(b.getScopedCredentials('bad-1', { sessionName }), 'ERR_BAD_REQUEST', 400);
    }
    await refusal(b.getScopedCredentials('bad-1', { roleArn: 'arn:aws:s3:::bucket/key-name' }), 'ERR_BAD_REQUEST', 400);
    const unknown = { polcy: UPLOAD_POLICY } as unknown as Parameters<typeof b.getScopedCredentials>[1];
    await refusal(b.getScopedCredentials('bad-1', unknown), 'ERR_BAD_REQUEST', 400);
    assert.throws(() => b.scopedCredentialProvider('bad-1', { policy: '{' }), { code: 'ERR_BAD_POLICY' });
    // The message never quotes the policy.
    const err = await refusal(b.getScopedCredentials('bad-1', { policy: 'secret-ish {' }), 'ERR_BAD_POLICY', 400);
    assert.equal(err.message.includes('secret-ish'), false);
    assert.deepEqual(t.emulator.counters(), {});
  });

  void test('a role the trust policy refuses is ERR_MISCONFIGURED naming the trust policy', async () => {
    // The emulator applies the console's trust policy: the pool's guest role refuses authenticated tokens.
    const guestRole = t.emulator.pools[0]!.roles.unauthenticated!;
    const err = await refusal(
      t.broker.getScopedCredentials('trust-1', { roleArn: guestRole }),
      'ERR_MISCONFIGURED',
      500,
    );
    assert.match(err.message, /trust policy/);
    assert.match(err.message, /cognito-identity\.amazonaws\.com:aud/);
  });

  void test('a token STS finds expired (its clock ahead) is reloaded once, then the call succeeds', async () => {
    const emuClock = new ManualClock(clock.now());
    const u = await startTestBroker({
      pool: { allowClassicFlow: true },
      broker: { clock },
      emulator: { clock: emuClock },
    });
    try {
      await u.broker.getToken('late-1');
      emuClock.advanceSeconds(1000); // past the token's exp (900 s) on STS's clock only
      u.emulator.resetCounters();
      const c = await u.broker.getScopedCredentials('late-1', { durationSeconds: 3600 });
      assert.ok(c.accessKeyId.length > 0);
      assert.deepEqual(u.emulator.counters(), {
        GetIdentityPoolRoles: 1,
        AssumeRoleWithWebIdentity: 2,
        GetOpenIdTokenForDeveloperIdentity: 1,
      });
    } finally {
      await u.stop();
    }
  });

  void test('refreshes ahead without waiting: the valid entry is served while one STS call renews it', async () => {
    const first = await t.broker.getScopedCredentials('ahead-1', { durationSeconds: 900 });
    t.emulator.resetCounters();
    // 900 s less the 300 s grace: refreshed from 60 s before that, never before half of it.
    clock.advanceSeconds(560);
    const before = t.broker.stats().scoped;
    const served = await t.broker.getScopedCredentials('ahead-1', { durationSeconds: 900 });
    assert.equal(served.accessKeyId, first.accessKeyId);
    assert.equal(t.broker.stats().scoped.refreshAhead - before.refreshAhead, 1);
    // Bounded wait for the background refresh (a load running) to settle; no time is asserted.
    for (let i = 0; i < 500 && t.broker.stats().scoped.loading > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const renewed = await t.broker.getScopedCredentials('ahead-1', { durationSeconds: 900 });
    assert.notEqual(renewed.accessKeyId, first.accessKeyId);
    assert.equal(t.emulator.counters().AssumeRoleWithWebIdentity, 1);
  });

  void test('link, merge and forgetUser drop the user scoped entries', async () => {
    const scope = { policy: UPLOAD_POLICY };
    const a = seen(await t.broker.getScopedCredentials('inv-1', scope));
    t.emulator.resetCounters();
    await t.broker.linkLogin(
      'inv-1',
      'graph.facebook.com',
      t.emulator.mintProviderToken('graph.facebook.com', 'fb-inv'),
    );
    const b = seen(await t.broker.getScopedCredentials('inv-1', scope));
    assert.notEqual(b.accessKeyId, a.accessKeyId);
    assert.equal(t.emulator.counters().AssumeRoleWithWebIdentity, 1);

    t.broker.forgetUser('inv-1');
    const c = await t.broker.getScopedCredentials('inv-1', scope);
    assert.notEqual(c.accessKeyId, b.accessKeyId);

    // A merge moves the source user to the destination identity: its scoped credentials follow.
    const source = await t.broker.getScopedCredentials('inv-src', scope);
    const dest = await t.broker.mergeUsers('inv-1', 'inv-src');
    const moved = await t.broker.getScopedCredentials('inv-src', scope);
    assert.notEqual(moved.accessKeyId, source.accessKeyId);
    assert.equal(moved.identityId, dest.identityId);
    assert.notEqual(source.identityId, dest.identityId);
  });

  // STS answers PackedPolicySize (percent of its limit) when a session policy is given; the broker
  // logs scopes at 90 % or more.
  void test('STS answers PackedPolicySize for a session policy', async () => {
    const { AssumeRoleWithWebIdentityCommand } = await import('@aws-sdk/client-sts');
    const token = await t.broker.getToken('packed-1');
    const out = await t.stsClient.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: authRole(),
        RoleSessionName: 'packed',
        WebIdentityToken: token.token,
        Policy: UPLOAD_POLICY,
      }),
    );
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the field the service's model names
    const size = out.PackedPolicySize;
    assert.equal(typeof size, 'number');
    assert.ok(size !== undefined && size >= 0 && size <= 100);
  });

  void test('preflight says the classic flow is usable on this pool', async () => {
    const r = await t.broker.preflight({ classicFlow: true });
    assert.deepEqual(r.classicFlow, { usable: true });
  });
});

void describe('preflight and the classic flow', () => {
  void test('a pool without AllowClassicFlow is reported, and refused when asked for', async () => {
    const t = await startTestBroker();
    try {
      const r = await t.broker.preflight();
      assert.equal(r.classicFlow.usable, false);
      assert.match(r.classicFlow.reason ?? '', /AllowClassicFlow/);
      const err = await refusal(t.broker.preflight({ classicFlow: true }), 'ERR_MISCONFIGURED', 500);
      assert.match(err.message, /AllowClassicFlow/);
    } finally {
      await t.stop();
    }
  });

  void test('a pool with role mappings is reported', async () => {
    const { SetIdentityPoolRolesCommand } = await import('@aws-sdk/client-cognito-identity');
    const t = await startTestBroker({
      pool: { allowClassicFlow: true, supportedLoginProviders: { 'graph.facebook.com': 'test-app-id' } },
    });
    try {
      const roles = t.emulator.pools[0]!.roles;
      await t.client.send(
        new SetIdentityPoolRolesCommand({
          IdentityPoolId: t.identityPoolId,
          Roles: { ...roles },
          RoleMappings: { 'graph.facebook.com': { Type: 'Token', AmbiguousRoleResolution: 'AuthenticatedRole' } },
        }),
      );
      const r = await t.broker.preflight();
      assert.equal(r.classicFlow.usable, false);
      assert.match(r.classicFlow.reason ?? '', /role mappings/);
    } finally {
      await t.stop();
    }
  });
});
