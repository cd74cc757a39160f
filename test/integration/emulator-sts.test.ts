// The emulator's STS driven by the real @aws-sdk/client-sts: the basic (classic) flow end to end,
// the enhanced flow's credentials proven by GetCallerIdentity, and each error of both operations.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { STS, type Credentials as StsCredentials } from '@aws-sdk/client-sts';
import { fromWebToken } from '@aws-sdk/credential-providers';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { AUTH_ROLE, DEV_PROVIDER, FB_APP, rejection, setup, UNAUTH_ROLE, type Fixture } from './emulator-fixture.js';

const COGNITO = 'cognito-identity.amazonaws.com';
const FB = 'graph.facebook.com';
const ACCOUNT = '123456789012';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/service/Uploads';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * An STS client for `emu`; unsigned calls need no credentials, signed ones get `keys`. It signs on
 * the emulator's clock (`clockMs`), as a client whose clock is right does.
 */
function stsClient(emu: RunningEmulator, keys?: Keys, region = emu.region, clockMs = Date.now()): STS {
  return new STS({
    endpoint: emu.endpoint,
    region,
    maxAttempts: 1,
    systemClockOffset: clockMs - Date.now(),
    credentials: keys ?? { accessKeyId: 'AKIDUNUSED', secretAccessKey: 'unused' },
  });
}

function keysOf(c: StsCredentials | { AccessKeyId?: string; SecretKey?: string; SessionToken?: string }): Keys {
  const secret = 'SecretAccessKey' in c ? c.SecretAccessKey : (c as { SecretKey?: string }).SecretKey;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: secret!, sessionToken: c.SessionToken! };
}

async function callerOf(emu: RunningEmulator, keys: Keys, opts: { region?: string; clockMs?: number } = {}) {
  const sts = stsClient(emu, keys, opts.region, opts.clockMs);
  try {
    return await sts.getCallerIdentity({});
  } finally {
    sts.destroy();
  }
}

void describe('emulator: STS', () => {
  let f: Fixture;
  let sts: STS;
  let classicPool: string;
  let enhancedPool: string;

  before(async () => {
    f = await setup();
    sts = stsClient(f.emu);
    const classic = await f.client.createIdentityPool({
      IdentityPoolName: 'classic',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: true,
      SupportedLoginProviders: { [FB]: FB_APP },
    });
    classicPool = classic.IdentityPoolId!;
    const enhanced = await f.client.createIdentityPool({
      IdentityPoolName: 'enhanced',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: false,
      DeveloperProviderName: DEV_PROVIDER,
      SupportedLoginProviders: { [FB]: FB_APP },
    });
    enhancedPool = enhanced.IdentityPoolId!;
    for (const id of [classicPool, enhancedPool]) {
      await f.client.setIdentityPoolRoles({
        IdentityPoolId: id,
        Roles: { authenticated: AUTH_ROLE, unauthenticated: UNAUTH_ROLE },
      });
    }
  });
  after(async () => {
    sts.destroy();
    await f.stop();
  });

  /** GetId → GetOpenIdToken with a Facebook login on the classic pool. */
  const classicToken = async (user = 'fb-alice') => {
    const fb = f.emu.mintProviderToken(FB, user);
    const { IdentityId } = await f.client.getId({ IdentityPoolId: classicPool, Logins: { [FB]: fb } });
    const out = await f.client.getOpenIdToken({ IdentityId: IdentityId!, Logins: { [FB]: fb } });
    return { identityId: IdentityId!, token: out.Token! };
  };

  void it('runs the basic flow: GetId → GetOpenIdToken → AssumeRoleWithWebIdentity → GetCallerIdentity', async () => {
    const { identityId, token } = await classicToken();
    const out = await sts.assumeRoleWithWebIdentity({
      RoleArn: AUTH_ROLE,
      RoleSessionName: 'web-session',
      WebIdentityToken: token,
    });
    assert.equal(out.SubjectFromWebIdentityToken, identityId);
    assert.equal(out.Audience, classicPool);
    assert.equal(out.Provider, COGNITO);
    assert.equal(out.AssumedRoleUser!.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Auth/web-session`);
    assert.match(out.AssumedRoleUser!.AssumedRoleId!, /^AROA[A-Z2-7]{17}:web-session$/);
    const c = out.Credentials!;
    assert.match(c.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(c.SecretAccessKey!.length, 40);
    assert.equal(c.Expiration!.getTime(), (Math.floor(f.clock.now() / 1000) + 3600) * 1000);

    const me = await callerOf(f.emu, keysOf(c), { clockMs: f.clock.now() });
    assert.equal(me.Arn, out.AssumedRoleUser!.Arn);
    assert.equal(me.UserId, out.AssumedRoleUser!.AssumedRoleId);
    assert.equal(me.Account, ACCOUNT);
  });

  void it('proves the enhanced flow’s credentials: GetOpenIdTokenForDeveloperIdentity → GetCredentialsForIdentity → GetCallerIdentity', async () => {
    const t = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: enhancedPool,
      Logins: { [DEV_PROVIDER]: 'dev-bob' },
    });
    const out = await f.client.getCredentialsForIdentity({
      IdentityId: t.IdentityId!,
      Logins: { [COGNITO]: t.Token! },
    });
    const me = await callerOf(f.emu, keysOf(out.Credentials!), { clockMs: f.clock.now() });
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Auth/CognitoIdentityCredentials`);
    assert.match(me.UserId!, /^AROA[A-Z2-7]{17}:CognitoIdentityCredentials$/);
    assert.equal(me.Account, ACCOUNT);
  });

  void it('accepts the tokens and credentials of every region: the pool is found in the region its id names', async () => {
    const eu = new CognitoIdentity({
      endpoint: f.emu.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    try {
      const pool = (
        await eu.createIdentityPool({
          IdentityPoolName: 'eu-classic',
          AllowUnauthenticatedIdentities: true,
          AllowClassicFlow: true,
          DeveloperProviderName: DEV_PROVIDER,
        })
      ).IdentityPoolId!;
      assert.match(pool, /^eu-west-1:/);
      await eu.setIdentityPoolRoles({
        IdentityPoolId: pool,
        Roles: { authenticated: AUTH_ROLE, unauthenticated: UNAUTH_ROLE },
      });
      const guest = (await eu.getId({ IdentityPoolId: pool })).IdentityId!;
      const token = (await eu.getOpenIdToken({ IdentityId: guest })).Token!;
      const out = await sts.assumeRoleWithWebIdentity({
        RoleArn: UNAUTH_ROLE,
        RoleSessionName: 'eu-guest',
        WebIdentityToken: token,
      });
      assert.equal(out.Audience, pool);
      assert.equal(out.SubjectFromWebIdentityToken, guest);
      // The enhanced flow's credentials of another region: one issuer for every region and STS.
      const dev = await eu.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: pool,
        Logins: { [DEV_PROVIDER]: 'eu-dev' },
      });
      const creds = await eu.getCredentialsForIdentity({
        IdentityId: dev.IdentityId!,
        Logins: { [COGNITO]: dev.Token! },
      });
      const me = await callerOf(f.emu, keysOf(creds.Credentials!), { clockMs: f.clock.now() });
      assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Auth/CognitoIdentityCredentials`);
    } finally {
      eu.destroy();
    }
  });

  void it('serves the SDK’s fromWebToken provider (the basic flow as apps use it), and counts the calls', async () => {
    f.emu.resetCounters();
    const { identityId, token } = await classicToken('fb-provider');
    const provider = fromWebToken({
      roleArn: AUTH_ROLE,
      webIdentityToken: token,
      roleSessionName: 'from-web-token',
      clientConfig: { endpoint: f.emu.endpoint, region: f.emu.region, maxAttempts: 1 },
    });
    const creds = await provider();
    assert.match(creds.accessKeyId, /^ASIA/);
    const me = await callerOf(f.emu, creds, { clockMs: f.clock.now() });
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Auth/from-web-token`);
    assert.ok(identityId.startsWith('us-east-1:'), identityId);
    const counters = f.emu.counters();
    assert.deepEqual([counters.AssumeRoleWithWebIdentity, counters.GetCallerIdentity], [1, 1]);
  });

  void it('verifies signatures scoped to any region (STS is region-agnostic)', async () => {
    const { token } = await classicToken('fb-regions');
    const out = await sts
      .assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'r', WebIdentityToken: token })
      .catch((err: unknown) => err as Error);
    // RoleSessionName is at least 2 characters long.
    assert.equal((out as Error).name, 'ValidationError');
    const ok = await sts.assumeRoleWithWebIdentity({
      RoleArn: AUTH_ROLE,
      RoleSessionName: 'rg',
      WebIdentityToken: token,
    });
    const me = await callerOf(f.emu, keysOf(ok.Credentials!), { region: 'eu-central-1', clockMs: f.clock.now() });
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Auth/rg`);
  });

  void it('issues credentials for DurationSeconds 900–43200 for the role asked, and refuses values outside', async () => {
    const { token } = await classicToken('fb-duration');
    const nowSec = Math.floor(f.clock.now() / 1000);
    for (const d of [900, 43_200]) {
      const out = await sts.assumeRoleWithWebIdentity({
        RoleArn: OTHER_ROLE,
        RoleSessionName: `d${d}`,
        WebIdentityToken: token,
        DurationSeconds: d,
      });
      assert.equal(out.Credentials!.Expiration!.getTime(), (nowSec + d) * 1000);
      assert.equal(out.AssumedRoleUser!.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Uploads/d${d}`);
    }
    const low = await rejection(
      sts.assumeRoleWithWebIdentity({
        RoleArn: AUTH_ROLE,
        RoleSessionName: 's',
        WebIdentityToken: token,
        DurationSeconds: 899,
      }),
    );
    assert.equal(low.name, 'ValidationError');
    assert.equal(
      low.message,
      "2 validation errors detected: Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    const high = await rejection(
      sts.assumeRoleWithWebIdentity({
        RoleArn: AUTH_ROLE,
        RoleSessionName: 'ok',
        WebIdentityToken: token,
        DurationSeconds: 43_201,
      }),
    );
    assert.equal(high.$metadata.httpStatusCode, 400);
    assert.match(
      high.message,
      /Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200/,
    );
    const badArn = await rejection(
      sts.assumeRoleWithWebIdentity({
        RoleArn: 'arn:aws:iam::123456789012:user/Bob',
        RoleSessionName: 'ok',
        WebIdentityToken: token,
      }),
    );
    assert.deepEqual([badArn.name, badArn.message], ['ValidationError', 'Request ARN is invalid']);
  });

  void it('answers PackedPolicySize for session policies, and refuses malformed or over-large ones with STS’s errors', async () => {
    const { token } = await classicToken('fb-policy');
    const assume = (extra: { Policy?: string; PolicyArns?: { arn: string }[] }) =>
      sts.assumeRoleWithWebIdentity({
        RoleArn: AUTH_ROLE,
        RoleSessionName: 'scoped',
        WebIdentityToken: token,
        ...extra,
      });
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::uploads/users/alice/*' }],
    });
    // The STS model the emulator follows answers PackedPolicySize; the SDK marks it deprecated (in
    // favour of SessionTokenUtilization, which the emulator does not answer), so it is read untyped.
    const packed = (out: object): number | undefined => (out as { PackedPolicySize?: number }).PackedPolicySize;
    assert.equal(packed(await assume({})), undefined);
    const small = packed(await assume({ Policy: policy })) ?? 0;
    assert.ok(small >= 1 && small <= 100, String(small));
    const withArns = await assume({
      Policy: policy,
      PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, { arn: 'arn:aws:iam::123456789012:policy/Mine' }],
    });
    assert.ok((packed(withArns) ?? 0) > small);

    for (const [bad, message] of [
      ['not json', 'The policy is not in the valid JSON format.'],
      ['[1]', 'The policy is not in the valid JSON format.'],
      ['{}', 'Syntax errors in policy.'],
      [
        JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }),
        'Syntax errors in policy.',
      ],
      [JSON.stringify({ Statement: { Effect: 'Allow', Resource: '*' } }), 'Syntax errors in policy.'],
      [
        JSON.stringify({ Version: '2020-01-01', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } }),
        'Syntax errors in policy.',
      ],
      [
        JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' } }),
        'Policy document should not specify a principal.',
      ],
      [JSON.stringify({ Statement: { Effect: 'Allow', Action: '', Resource: '*' } }), 'Syntax errors in policy.'],
      [JSON.stringify({ Statement: { Effect: 'Allow', Action: '*', Resource: '' } }), 'Syntax errors in policy.'],
      [
        JSON.stringify({ Statement: { Effect: 'Allow', Action: ['s3:x', ''], Resource: '*' } }),
        'Syntax errors in policy.',
      ],
    ] as const) {
      const err = await rejection(assume({ Policy: bad }));
      assert.deepEqual(
        [err.name, err.message, err.$metadata.httpStatusCode],
        ['MalformedPolicyDocumentException', message, 400],
        bad,
      );
    }

    // Under the 2,048 characters of the model, but hardly compressible: too large once packed.
    let seed = 7;
    const noise = (n: number) =>
      Array.from({ length: n }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.charAt(seed % 62);
      }).join('');
    const noisy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${noise(1900)}` }],
    });
    assert.ok(noisy.length <= 2048, String(noisy.length));
    const large = await rejection(assume({ Policy: noisy }));
    assert.deepEqual([large.name, large.$metadata.httpStatusCode], ['PackedPolicyTooLargeException', 400]);
    assert.match(large.message, /^Packed size of consolidated policies exceeds the limit: \d+% of the maximum\.$/);

    // STS takes up to 10 managed policies.
    const arns = (n: number) => Array.from({ length: n }, (_, i) => ({ arn: `arn:aws:iam::aws:policy/P${String(i)}` }));
    assert.ok((packed(await assume({ PolicyArns: arns(10) })) ?? 0) > 0);
    const many = await rejection(assume({ PolicyArns: arns(11) }));
    assert.deepEqual([many.name, many.$metadata.httpStatusCode], ['ValidationError', 400]);
    assert.match(many.message, /policyArns.*less than or equal to 10/);

    // A policy past the model's 2,048 characters is refused without echoing it whole.
    const huge = JSON.stringify({
      Statement: Array.from({ length: 4000 }, () => ({ Effect: 'Allow', Action: 's3:*', Resource: '*' })),
    });
    const tooLong = await rejection(assume({ Policy: huge }));
    assert.equal(tooLong.name, 'ValidationError');
    assert.ok(tooLong.message.length < 1000, String(tooLong.message.length));
  });

  void it('refuses a forged token with InvalidIdentityToken, never echoing it', async () => {
    const { token } = await classicToken('fb-forged');
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedClaims = Buffer.from(
      JSON.stringify({ ...claims, sub: 'us-east-1:00000000-0000-0000-0000-000000000000' }),
    ).toString('base64url');
    for (const forged of [
      `${h}.${forgedClaims}.${s}`,
      `${h}.${p}.${s.slice(0, -4)}AAAA`,
      'not-a-jwt-at-all',
      'x'.repeat(20_001),
    ]) {
      const err = await rejection(
        sts.assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'ok', WebIdentityToken: forged }),
      );
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.ok(['InvalidIdentityTokenException', 'ValidationError'].includes(err.name), err.name);
      assert.ok(!err.message.includes(forged.slice(0, 40)), 'the token stays out of the message');
    }
    const tooLong = await rejection(
      sts.assumeRoleWithWebIdentity({
        RoleArn: AUTH_ROLE,
        RoleSessionName: 'ok',
        WebIdentityToken: 'x'.repeat(20_001),
      }),
    );
    assert.equal(
      tooLong.message,
      "1 validation error detected: Value '***SensitiveInformation***' at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000",
    );
    // A provider token the emulator minted is not a Cognito OpenID token.
    const fb = await rejection(
      sts.assumeRoleWithWebIdentity({
        RoleArn: AUTH_ROLE,
        RoleSessionName: 'ok',
        WebIdentityToken: f.emu.mintProviderToken(FB, 'x'),
      }),
    );
    assert.deepEqual(
      [fb.name, fb.message],
      ['InvalidIdentityTokenException', `No OpenIDConnect provider found in your account for ${FB}`],
    );
  });

  void it('refuses an expired token with ExpiredTokenException', async () => {
    const { token } = await classicToken('fb-expired');
    f.clock.advanceSeconds(15 * 60 + 1);
    const err = await rejection(
      sts.assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'ok', WebIdentityToken: token }),
    );
    assert.equal(err.name, 'ExpiredTokenException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(err.message, /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/);
  });

  void it('refuses a token whose audience is no pool the emulator knows', async () => {
    const pool = await f.client.createIdentityPool({
      IdentityPoolName: 'short-lived',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: true,
    });
    const { IdentityId } = await f.client.getId({ IdentityPoolId: pool.IdentityPoolId! });
    const { Token } = await f.client.getOpenIdToken({ IdentityId: IdentityId! });
    await f.client.deleteIdentityPool({ IdentityPoolId: pool.IdentityPoolId! });
    const err = await rejection(
      sts.assumeRoleWithWebIdentity({ RoleArn: OTHER_ROLE, RoleSessionName: 'ok', WebIdentityToken: Token! }),
    );
    assert.deepEqual([err.name, err.message], ['InvalidIdentityTokenException', 'Incorrect token audience']);
  });

  void it('applies the default trust of a pool’s roles: guests assume only the unauthenticated role', async () => {
    const { IdentityId } = await f.client.getId({ IdentityPoolId: classicPool });
    const { Token } = await f.client.getOpenIdToken({ IdentityId: IdentityId! });
    const denied = await rejection(
      sts.assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'guest', WebIdentityToken: Token! }),
    );
    assert.deepEqual([denied.name, denied.$metadata.httpStatusCode], ['AccessDenied', 403]);
    const ok = await sts.assumeRoleWithWebIdentity({
      RoleArn: UNAUTH_ROLE,
      RoleSessionName: 'guest',
      WebIdentityToken: Token!,
    });
    assert.equal(ok.AssumedRoleUser!.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/Unauth/guest`);
    const { token } = await classicToken('fb-trust');
    const denied2 = await rejection(
      sts.assumeRoleWithWebIdentity({ RoleArn: UNAUTH_ROLE, RoleSessionName: 'user', WebIdentityToken: token }),
    );
    assert.equal(denied2.name, 'AccessDenied');
  });

  void it('applies each pool role’s trust to its own pool: a token of another pool cannot assume it', async () => {
    const B_AUTH = 'arn:aws:iam::123456789012:role/PoolBAuth';
    const B_UNAUTH = 'arn:aws:iam::123456789012:role/PoolBUnauth';
    const b = await f.client.createIdentityPool({
      IdentityPoolName: 'pool-b',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: true,
    });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: b.IdentityPoolId!,
      Roles: { authenticated: B_AUTH, unauthenticated: B_UNAUTH },
    });
    // Tokens of the classic pool (A): an authenticated user's and a guest's.
    const { token } = await classicToken('fb-cross-pool');
    const { IdentityId } = await f.client.getId({ IdentityPoolId: classicPool });
    const guest = (await f.client.getOpenIdToken({ IdentityId: IdentityId! })).Token!;
    for (const [RoleArn, WebIdentityToken] of [
      [B_AUTH, token],
      [B_UNAUTH, guest],
      [B_UNAUTH, token],
      [B_AUTH, guest],
    ] as const) {
      const denied = await rejection(
        sts.assumeRoleWithWebIdentity({ RoleArn, RoleSessionName: 'cross', WebIdentityToken }),
      );
      assert.deepEqual([denied.name, denied.$metadata.httpStatusCode], ['AccessDenied', 403], RoleArn);
    }
    // Pool B's own guest assumes B's unauthenticated role; a role of no pool takes any token.
    const bGuest = await f.client.getId({ IdentityPoolId: b.IdentityPoolId! });
    const bToken = (await f.client.getOpenIdToken({ IdentityId: bGuest.IdentityId! })).Token!;
    const ok = await sts.assumeRoleWithWebIdentity({
      RoleArn: B_UNAUTH,
      RoleSessionName: 'own',
      WebIdentityToken: bToken,
    });
    assert.equal(ok.Audience, b.IdentityPoolId);
    const other = await sts.assumeRoleWithWebIdentity({
      RoleArn: OTHER_ROLE,
      RoleSessionName: 'any',
      WebIdentityToken: token,
    });
    assert.equal(other.Audience, classicPool);
  });

  void it('trusts a role a mapping rule names as its pool’s authenticated role only', async () => {
    const RULE_ROLE = 'arn:aws:iam::123456789012:role/RuleOnlyAdmin';
    const victim = await f.client.createIdentityPool({
      IdentityPoolName: 'rule-victim',
      AllowUnauthenticatedIdentities: true,
      DeveloperProviderName: DEV_PROVIDER,
    });
    const victimId = victim.IdentityPoolId!;
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: victimId,
      Roles: { authenticated: AUTH_ROLE, unauthenticated: UNAUTH_ROLE },
      RoleMappings: {
        [DEV_PROVIDER]: {
          Type: 'Rules',
          AmbiguousRoleResolution: 'Deny',
          RulesConfiguration: { Rules: [{ Claim: 'sub', MatchType: 'Equals', Value: 'nobody', RoleARN: RULE_ROLE }] },
        },
      },
    });
    // A guest and a user of another pool cannot assume the rule's role.
    const { IdentityId } = await f.client.getId({ IdentityPoolId: classicPool });
    const otherGuest = (await f.client.getOpenIdToken({ IdentityId: IdentityId! })).Token!;
    const { token: otherUser } = await classicToken('fb-rule-attacker');
    for (const WebIdentityToken of [otherGuest, otherUser]) {
      const denied = await rejection(
        sts.assumeRoleWithWebIdentity({ RoleArn: RULE_ROLE, RoleSessionName: 'rule', WebIdentityToken }),
      );
      assert.deepEqual([denied.name, denied.$metadata.httpStatusCode], ['AccessDenied', 403]);
    }
    // The victim pool's authenticated identities do (the trust Cognito's guide asks for).
    const dev = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: victimId,
      Logins: { [DEV_PROVIDER]: 'rule-user' },
    });
    const ok = await sts.assumeRoleWithWebIdentity({
      RoleArn: RULE_ROLE,
      RoleSessionName: 'rule',
      WebIdentityToken: dev.Token!,
    });
    assert.equal(ok.Audience, victimId);
  });

  void it('refuses the basic flow on a pool with role mappings, as the service does', async () => {
    const pool = await f.client.createIdentityPool({
      IdentityPoolName: 'mapped-classic',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: true,
      SupportedLoginProviders: { [FB]: FB_APP },
    });
    const poolId = pool.IdentityPoolId!;
    const fb = f.emu.mintProviderToken(FB, 'fb-mapped-classic', { audience: FB_APP });
    const { IdentityId } = await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: fb } });
    // Without role mappings the basic flow works; with one, GetOpenIdToken is refused.
    await f.client.getOpenIdToken({ IdentityId: IdentityId!, Logins: { [FB]: fb } });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: poolId,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: { [FB]: { Type: 'Token', AmbiguousRoleResolution: 'AuthenticatedRole' } },
    });
    const err = await rejection(f.client.getOpenIdToken({ IdentityId: IdentityId!, Logins: { [FB]: fb } }));
    assert.deepEqual(
      [err.name, err.message],
      [
        'InvalidParameterException',
        'Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.',
      ],
    );
  });

  void it('seeds pools with the classic flow allowed or not (seed option allowClassicFlow)', async () => {
    const emu = await startEmulator({
      seed: [
        { name: 'classic', allowUnauthenticatedIdentities: true, allowClassicFlow: true },
        { name: 'enhanced', allowUnauthenticatedIdentities: true, allowClassicFlow: false },
      ],
    });
    const client = new CognitoIdentity({
      endpoint: emu.endpoint,
      region: emu.region,
      credentials: { accessKeyId: 'AKIDSEED', secretAccessKey: 'seed' },
      maxAttempts: 1,
    });
    try {
      const [classic, enhanced] = emu.pools;
      const describe = (id: string) => client.describeIdentityPool({ IdentityPoolId: id });
      assert.equal((await describe(classic!.identityPoolId)).AllowClassicFlow, true);
      assert.equal((await describe(enhanced!.identityPoolId)).AllowClassicFlow, false);
      const guest = await client.getId({ IdentityPoolId: classic!.identityPoolId });
      assert.ok((await client.getOpenIdToken({ IdentityId: guest.IdentityId! })).Token);
      const refused = await client.getId({ IdentityPoolId: enhanced!.identityPoolId });
      const err = await rejection(client.getOpenIdToken({ IdentityId: refused.IdentityId! }));
      assert.equal(err.name, 'InvalidParameterException');
    } finally {
      client.destroy();
      await emu.stop();
    }
  });

  void it('honours AllowClassicFlow: false refuses GetOpenIdToken; the developer flow’s token still reaches STS', async () => {
    const { IdentityId } = await f.client.getId({ IdentityPoolId: enhancedPool });
    const err = await rejection(f.client.getOpenIdToken({ IdentityId: IdentityId! }));
    assert.deepEqual(
      [err.name, err.message],
      ['InvalidParameterException', 'Basic (classic) flow is not enabled, please use enhanced flow.'],
    );
    const dev = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: enhancedPool,
      Logins: { [DEV_PROVIDER]: 'dev-carol' },
    });
    const out = await sts.assumeRoleWithWebIdentity({
      RoleArn: AUTH_ROLE,
      RoleSessionName: 'dev',
      WebIdentityToken: dev.Token!,
    });
    assert.equal(out.SubjectFromWebIdentityToken, dev.IdentityId);
  });

  void it('answers GetCallerIdentity signed with a wrong secret with SignatureDoesNotMatch (403), no secret in the message', async () => {
    const { token } = await classicToken('fb-wrong-secret');
    const c = (
      await sts.assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'ws', WebIdentityToken: token })
    ).Credentials!;
    const keys = keysOf(c);
    const wrong = `${keys.secretAccessKey.slice(0, -1)}${keys.secretAccessKey.endsWith('A') ? 'B' : 'A'}`;
    const err = await rejection(callerOf(f.emu, { ...keys, secretAccessKey: wrong }, { clockMs: f.clock.now() }));
    assert.deepEqual([err.name, err.$metadata.httpStatusCode], ['SignatureDoesNotMatch', 403]);
    assert.ok(
      err.message.startsWith('The request signature we calculated does not match the signature you provided.'),
      err.message,
    );
    for (const secret of [
      keys.secretAccessKey,
      wrong,
      keys.sessionToken!,
      keys.sessionToken!.slice(0, 100),
      token.slice(0, 60),
    ]) {
      assert.ok(!err.message.includes(secret), 'no secret in the message');
    }
    assert.ok(err.message.includes('x-amz-security-token:<redacted>'), 'the session token is redacted');
  });

  void it('answers GetCallerIdentity with an unknown access key (or a token of other keys) with InvalidClientTokenId (403)', async () => {
    const { token } = await classicToken('fb-unknown');
    const c = keysOf(
      (await sts.assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'uk', WebIdentityToken: token }))
        .Credentials!,
    );
    const other = keysOf(
      (await sts.assumeRoleWithWebIdentity({ RoleArn: AUTH_ROLE, RoleSessionName: 'uk2', WebIdentityToken: token }))
        .Credentials!,
    );
    const cases: Keys[] = [
      { ...c, accessKeyId: 'ASIAAAAAAAAAAAAAAAAA' },
      { ...c, sessionToken: other.sessionToken! },
      { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    ];
    for (const keys of cases) {
      const err = await rejection(callerOf(f.emu, keys, { clockMs: f.clock.now() }));
      assert.deepEqual(
        [err.name, err.$metadata.httpStatusCode, err.message],
        ['InvalidClientTokenId', 403, 'The security token included in the request is invalid.'],
      );
    }
  });

  void it('answers GetCallerIdentity with expired credentials with ExpiredToken (400)', async () => {
    const t = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: enhancedPool,
      Logins: { [DEV_PROVIDER]: 'dev-expiring' },
    });
    const out = await f.client.getCredentialsForIdentity({
      IdentityId: t.IdentityId!,
      Logins: { [COGNITO]: t.Token! },
    });
    f.clock.advanceSeconds(3600);
    // The emulator's clock moves on; the client signs on it, so only the credentials are out of date.
    const err = await rejection(callerOf(f.emu, keysOf(out.Credentials!), { clockMs: f.clock.now() }));
    assert.deepEqual(
      [err.name, err.$metadata.httpStatusCode, err.message],
      ['ExpiredToken', 400, 'The security token included in the request is expired'],
    );
  });

  void it('speaks the query protocol: XML errors for unsigned calls, unknown actions and versions', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(f.emu.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers },
        body,
      });
    const unsigned = await post('Action=GetCallerIdentity&Version=2011-06-15');
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers.get('content-type'), 'text/xml');
    const text = await unsigned.text();
    assert.match(
      text,
      /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code><Message>Request is missing Authentication Token<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
    assert.ok(text.includes(unsigned.headers.get('x-amzn-requestid')!), 'the header names the body’s RequestId');
    const unknown = await post('Action=AssumeRole&Version=2011-06-15');
    assert.equal(unknown.status, 400);
    assert.match(
      await unknown.text(),
      /<Code>InvalidAction<\/Code><Message>Could not find operation AssumeRole for version 2011-06-15<\/Message>/,
    );
    const version = await post('Action=GetCallerIdentity&Version=2010-01-01');
    assert.match(await version.text(), /<Code>InvalidAction<\/Code>/);
    const none = await post('Version=2011-06-15');
    assert.match(await none.text(), /<Code>MissingAction<\/Code>/);
    const missing = await post('Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=ok');
    assert.match(
      await missing.text(),
      /<Code>ValidationError<\/Code><Message>2 validation errors detected: Value null at &apos;roleArn&apos; failed to satisfy constraint: Member must not be null; Value null at &apos;webIdentityToken&apos; failed to satisfy constraint: Member must not be null<\/Message>/,
    );
    // Cognito's AWS JSON 1.1 still answers at the same endpoint.
    const json = await post('{}', {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AWSCognitoIdentityService.ListIdentityPools',
    });
    assert.equal(json.headers.get('content-type'), 'application/x-amz-json-1.1');
  });
});

void describe('emulator: STS credentials and the state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cognito-emu-sts-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  void it('recognises credentials minted before a restart on the same state file', async () => {
    const stateFile = join(dir, 'state.json');
    const seed = [{ name: 'app', developerProviderName: DEV_PROVIDER }];
    const first = await startEmulator({ stateFile, seed });
    const f1 = await setupClient(first);
    const poolId = first.pools[0]!.identityPoolId;
    const t = await f1.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'alice' },
    });
    const out = await f1.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { [COGNITO]: t.Token! } });
    f1.destroy();
    await first.stop();

    const second = await startEmulator({ stateFile });
    try {
      const me = await callerOf(second, keysOf(out.Credentials!));
      assert.match(
        me.Arn!,
        /^arn:aws:sts::123456789012:assumed-role\/Cognito_appAuth_Role\/CognitoIdentityCredentials$/,
      );
    } finally {
      await second.stop();
    }
  });
});

async function setupClient(emu: RunningEmulator) {
  const { CognitoIdentity } = await import('@aws-sdk/client-cognito-identity');
  return new CognitoIdentity({
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
}
