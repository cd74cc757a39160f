import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeSessionToken } from '../../src/emulator/index.js';
import {
  AUTH_ROLE,
  DEV_PROVIDER,
  devPool,
  FB_APP,
  rejection,
  setup,
  UNAUTH_ROLE,
  type Fixture,
} from './emulator-fixture.js';

const COGNITO = 'cognito-identity.amazonaws.com';
const ROLE_A = 'arn:aws:iam::123456789012:role/RoleA';
const ROLE_B = 'arn:aws:iam::123456789012:role/RoleB';

void describe('emulator: GetCredentialsForIdentity', () => {
  let f: Fixture;
  let poolId: string;
  before(async () => {
    f = await setup();
    poolId = await devPool(f.client, { allowUnauth: true });
  });
  after(async () => {
    await f.stop();
  });

  const devToken = async (
    user: string,
    pool = poolId,
    extra: { TokenDuration?: number; PrincipalTags?: Record<string, string> } = {},
  ) =>
    f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool, Logins: { [DEV_PROVIDER]: user }, ...extra });

  void it('issues STS-shaped credentials for the authenticated role, expiring in one hour', async () => {
    const t = await devToken('alice');
    const out = await f.client.getCredentialsForIdentity({
      IdentityId: t.IdentityId!,
      Logins: { [COGNITO]: t.Token! },
    });
    assert.equal(out.IdentityId, t.IdentityId);
    const c = out.Credentials!;
    assert.match(c.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(c.SecretKey!.length, 40);
    assert.ok(c.SessionToken!.length > 400);
    assert.equal(c.Expiration!.getTime(), (Math.floor(f.clock.now() / 1000) + 3600) * 1000);
    assert.equal(describeSessionToken(c.SessionToken!)?.roleArn, AUTH_ROLE);
    const again = await f.client.getCredentialsForIdentity({
      IdentityId: t.IdentityId!,
      Logins: { [COGNITO]: t.Token! },
    });
    assert.notEqual(again.Credentials!.AccessKeyId, c.AccessKeyId);
  });

  void it('sends the expiration as epoch seconds on the wire', async () => {
    const t = await devToken('wire');
    const res = await fetch(f.emu.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityService.GetCredentialsForIdentity',
      },
      body: JSON.stringify({ IdentityId: t.IdentityId, Logins: { [COGNITO]: t.Token } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { Credentials: { Expiration: unknown } };
    assert.equal(typeof body.Credentials.Expiration, 'number');
  });

  void it('refuses an expired token, and accepts it until the exact expiry', async () => {
    const t = await devToken('bob', poolId, { TokenDuration: 60 });
    f.clock.advanceSeconds(59);
    await f.client.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { [COGNITO]: t.Token! } });
    f.clock.advanceSeconds(1);
    const err = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { [COGNITO]: t.Token! } }),
    );
    assert.equal(err.name, 'NotAuthorizedException');
    assert.match(err.message, /^Invalid login token\. Token expired/);
  });

  void it('refuses a token for another identity (subject) or another pool (audience), and a tampered one', async () => {
    const a = await devToken('carol');
    const b = await devToken('dave');
    const sub = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: b.IdentityId!, Logins: { [COGNITO]: a.Token! } }),
    );
    assert.equal(sub.name, 'NotAuthorizedException');

    const otherPool = await devPool(f.client, { name: 'other' });
    const o = await devToken('carol', otherPool);
    const [h, p, s] = o.Token!.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    // Audience: the real token of pool 2 sent for an identity of pool 1 with the same subject is impossible, so
    // tamper the subject; the signature check must refuse it.
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: a.IdentityId })).toString('base64url')}.${s}`;
    const sig = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: a.IdentityId!, Logins: { [COGNITO]: tampered } }),
    );
    assert.equal(sig.name, 'NotAuthorizedException');
    const aud = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: o.IdentityId!, Logins: { [COGNITO]: a.Token! } }),
    );
    assert.equal(aud.name, 'NotAuthorizedException');
    assert.equal(aud.message, 'Invalid login token. Incorrect audience.');
    const garbage = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: a.IdentityId!, Logins: { [COGNITO]: 'not-a-jwt' } }),
    );
    assert.equal(garbage.name, 'NotAuthorizedException');
  });

  void it('refuses an unknown identity and a login of an unsupported provider', async () => {
    const missing = await rejection(
      f.client.getCredentialsForIdentity({
        IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000',
        Logins: { [COGNITO]: 'x' },
      }),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
    const t = await devToken('erin');
    const unsupported = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { 'accounts.google.com': 'x' } }),
    );
    assert.equal(unsupported.name, 'NotAuthorizedException');
    const noLogins = await rejection(f.client.getCredentialsForIdentity({ IdentityId: t.IdentityId! }));
    assert.equal(noLogins.name, 'NotAuthorizedException');
  });

  void it('gives guests the unauthenticated role only where the pool allows them', async () => {
    const guest = await f.client.getId({ IdentityPoolId: poolId });
    const creds = await f.client.getCredentialsForIdentity({ IdentityId: guest.IdentityId! });
    assert.equal(describeSessionToken(creds.Credentials!.SessionToken!)?.roleArn, UNAUTH_ROLE);
    const tok = await f.client.getOpenIdToken({ IdentityId: guest.IdentityId! });
    const viaToken = await f.client.getCredentialsForIdentity({
      IdentityId: guest.IdentityId!,
      Logins: { [COGNITO]: tok.Token! },
    });
    assert.equal(describeSessionToken(viaToken.Credentials!.SessionToken!)?.roleArn, UNAUTH_ROLE);

    await f.client.updateIdentityPool({
      IdentityPoolId: poolId,
      IdentityPoolName: 'dev pool',
      AllowUnauthenticatedIdentities: false,
      DeveloperProviderName: DEV_PROVIDER,
      SupportedLoginProviders: { 'graph.facebook.com': 'fb-app-1' },
    });
    try {
      const err = await rejection(f.client.getCredentialsForIdentity({ IdentityId: guest.IdentityId! }));
      assert.equal(err.name, 'NotAuthorizedException');
      assert.equal(err.message, 'Unauthenticated access is not supported for this identity pool.');
    } finally {
      await f.client.updateIdentityPool({
        IdentityPoolId: poolId,
        IdentityPoolName: 'dev pool',
        AllowUnauthenticatedIdentities: true,
        DeveloperProviderName: DEV_PROVIDER,
        SupportedLoginProviders: { 'graph.facebook.com': 'fb-app-1' },
      });
    }
  });

  void it('answers InvalidIdentityPoolConfigurationException when the pool has no role', async () => {
    const bare = (
      await f.client.createIdentityPool({
        IdentityPoolName: 'bare',
        AllowUnauthenticatedIdentities: true,
        DeveloperProviderName: DEV_PROVIDER,
      })
    ).IdentityPoolId!;
    const t = await devToken('frank', bare);
    const err = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { [COGNITO]: t.Token! } }),
    );
    assert.equal(err.name, 'InvalidIdentityPoolConfigurationException');
    const guest = await f.client.getId({ IdentityPoolId: bare });
    const err2 = await rejection(f.client.getCredentialsForIdentity({ IdentityId: guest.IdentityId! }));
    assert.equal(err2.name, 'InvalidIdentityPoolConfigurationException');
  });

  void it('accepts a CustomRoleArn from the pool roles or role mappings, and refuses any other', async () => {
    const t = await devToken('gina');
    const ok = await f.client.getCredentialsForIdentity({
      IdentityId: t.IdentityId!,
      Logins: { [COGNITO]: t.Token! },
      CustomRoleArn: AUTH_ROLE,
    });
    assert.equal(describeSessionToken(ok.Credentials!.SessionToken!)?.roleArn, AUTH_ROLE);
    const err = await rejection(
      f.client.getCredentialsForIdentity({
        IdentityId: t.IdentityId!,
        Logins: { [COGNITO]: t.Token! },
        CustomRoleArn: ROLE_A,
      }),
    );
    assert.equal(err.name, 'NotAuthorizedException');
    const short = await rejection(
      f.client.getCredentialsForIdentity({
        IdentityId: t.IdentityId!,
        Logins: { [COGNITO]: t.Token! },
        CustomRoleArn: 'arn:x',
      }),
    );
    assert.equal(short.name, 'ValidationException');
    assert.match(
      short.message,
      /at 'customRoleArn' failed to satisfy constraint: Member must have length greater than or equal to 20$/,
    );
  });

  void it('resolves roles from Rules role mappings on the token claims, with AmbiguousRoleResolution', async () => {
    const pool = await devPool(f.client, { name: 'mapped' });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: {
        [DEV_PROVIDER]: {
          Type: 'Rules',
          AmbiguousRoleResolution: 'AuthenticatedRole',
          RulesConfiguration: {
            Rules: [
              { Claim: 'team', MatchType: 'Equals', Value: 'red', RoleARN: ROLE_A },
              { Claim: 'team', MatchType: 'StartsWith', Value: 'bl', RoleARN: ROLE_B },
            ],
          },
        },
      },
    });
    const red = await devToken('r1', pool, { PrincipalTags: { team: 'red' } });
    const blue = await devToken('b1', pool, { PrincipalTags: { team: 'blue' } });
    const none = await devToken('n1', pool);
    const roleOf = async (t: { IdentityId?: string; Token?: string }, custom?: string) =>
      describeSessionToken(
        (
          await f.client.getCredentialsForIdentity({
            IdentityId: t.IdentityId!,
            Logins: { [COGNITO]: t.Token! },
            ...(custom ? { CustomRoleArn: custom } : {}),
          })
        ).Credentials!.SessionToken!,
      )?.roleArn;
    assert.equal(await roleOf(red), ROLE_A);
    assert.equal(await roleOf(blue), ROLE_B);
    assert.equal(await roleOf(none), AUTH_ROLE);
    // The role of a rule the identity matches is an allowed CustomRoleArn, even when another rule
    // matched first; the role of a rule it does not match is not.
    assert.equal(await roleOf(red, AUTH_ROLE), AUTH_ROLE);
    assert.equal(await roleOf(blue, ROLE_B), ROLE_B);
    const unmatched = await rejection(
      f.client.getCredentialsForIdentity({
        IdentityId: none.IdentityId!,
        Logins: { [COGNITO]: none.Token! },
        CustomRoleArn: ROLE_B,
      }),
    );
    assert.equal(unmatched.name, 'NotAuthorizedException');

    const roles = await f.client.getIdentityPoolRoles({ IdentityPoolId: pool });
    assert.equal(roles.RoleMappings?.[DEV_PROVIDER]?.Type, 'Rules');

    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: {
        [DEV_PROVIDER]: {
          Type: 'Rules',
          AmbiguousRoleResolution: 'Deny',
          RulesConfiguration: { Rules: [{ Claim: 'team', MatchType: 'Equals', Value: 'red', RoleARN: ROLE_A }] },
        },
      },
    });
    assert.equal(await roleOf(red), ROLE_A);
    const denied = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: none.IdentityId!, Logins: { [COGNITO]: none.Token! } }),
    );
    assert.equal(denied.name, 'NotAuthorizedException');
    assert.equal(denied.message, `The ambiguous role mapping rules for: ${DEV_PROVIDER} denied this request.`);
  });

  void it('never lets a principal tag name the role or replace a claim of the token', async () => {
    const ADMIN = 'arn:aws:iam::123456789012:role/TagAdmin';
    const roleOf = async (t: { IdentityId?: string; Token?: string }) =>
      f.client.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { [COGNITO]: t.Token! } }).then(
        (o) => describeSessionToken(o.Credentials!.SessionToken!)?.roleArn,
        (e: unknown) => (e as Error).name,
      );
    const token = await devPool(f.client, { name: 'tag-token' });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: token,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: { [DEV_PROVIDER]: { Type: 'Token', AmbiguousRoleResolution: 'AuthenticatedRole' } },
    });
    const preferred = await devToken('tag-p', token, { PrincipalTags: { 'cognito:preferred_role': ADMIN } });
    assert.equal(await roleOf(preferred), AUTH_ROLE);
    const listed = await devToken('tag-r', token, { PrincipalTags: { 'cognito:roles': ADMIN } });
    assert.equal(await roleOf(listed), AUTH_ROLE);

    const rules = await devPool(f.client, { name: 'tag-rules' });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: rules,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: {
        [DEV_PROVIDER]: {
          Type: 'Rules',
          AmbiguousRoleResolution: 'Deny',
          RulesConfiguration: { Rules: [{ Claim: 'sub', MatchType: 'Equals', Value: 'nobody', RoleARN: ADMIN }] },
        },
      },
    });
    // A tag named `sub` does not stand for the token's subject: no rule matches, Deny decides.
    assert.equal(
      await roleOf(await devToken('tag-s', rules, { PrincipalTags: { sub: 'nobody' } })),
      'NotAuthorizedException',
    );
  });

  void it('resolves several mapped providers the same whatever the order of the Logins map: any Deny denies', async () => {
    const FB = 'graph.facebook.com';
    const GOOGLE = 'accounts.google.com';
    const ADMIN = 'arn:aws:iam::123456789012:role/OrderAdmin';
    const created = await f.client.createIdentityPool({
      IdentityPoolName: 'mapping order',
      AllowUnauthenticatedIdentities: false,
      SupportedLoginProviders: { [FB]: FB_APP, [GOOGLE]: 'order-google' },
    });
    const pool = created.IdentityPoolId!;
    const rule = (Value: string, RoleARN: string) => ({
      Rules: [{ Claim: 'sub', MatchType: 'Equals' as const, Value, RoleARN }],
    });
    const fb = f.emu.mintProviderToken(FB, 'fb-outsider', { audience: FB_APP });
    const google = f.emu.mintProviderToken(GOOGLE, 'g-user', { audience: 'order-google' });
    const IdentityId = (await f.client.getId({ IdentityPoolId: pool, Logins: { [FB]: fb, [GOOGLE]: google } }))
      .IdentityId!;
    const both = [
      { [FB]: fb, [GOOGLE]: google },
      { [GOOGLE]: google, [FB]: fb },
    ];
    const outcomes = async () =>
      Promise.all(
        both.map((Logins) =>
          f.client.getCredentialsForIdentity({ IdentityId, Logins }).then(
            (o) => describeSessionToken(o.Credentials!.SessionToken!)?.roleArn,
            (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`,
          ),
        ),
      );
    // Facebook's mapping matches no rule and denies; Google's falls back to the authenticated role.
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: {
        [FB]: { Type: 'Rules', AmbiguousRoleResolution: 'Deny', RulesConfiguration: rule('fb-staff', ADMIN) },
        [GOOGLE]: { Type: 'Rules', AmbiguousRoleResolution: 'AuthenticatedRole', RulesConfiguration: rule('x', ADMIN) },
      },
    });
    const denied = `NotAuthorizedException: The ambiguous role mapping rules for: ${FB} denied this request.`;
    assert.deepEqual(await outcomes(), [denied, denied]);
    // Both match a rule: the first mapping of the pool's RoleMappings decides, in either order.
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: {
        [GOOGLE]: { Type: 'Rules', AmbiguousRoleResolution: 'Deny', RulesConfiguration: rule('g-user', ROLE_B) },
        [FB]: { Type: 'Rules', AmbiguousRoleResolution: 'Deny', RulesConfiguration: rule('fb-outsider', ROLE_A) },
      },
    });
    assert.deepEqual(await outcomes(), [ROLE_B, ROLE_B]);
  });

  void it("never lets CustomRoleArn pick the role of a rule the identity does not match, nor of another provider's mapping", async () => {
    const ADMIN = 'arn:aws:iam::123456789012:role/Admin';
    const pool = await devPool(f.client, { name: 'escalation' });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: {
        'graph.facebook.com': {
          Type: 'Rules',
          AmbiguousRoleResolution: 'AuthenticatedRole',
          RulesConfiguration: { Rules: [{ Claim: 'sub', MatchType: 'Equals', Value: 'fb-admin', RoleARN: ADMIN }] },
        },
      },
    });
    const credentials = (IdentityId: string, Logins: Record<string, string>, CustomRoleArn?: string) =>
      f.client.getCredentialsForIdentity({ IdentityId, Logins, ...(CustomRoleArn ? { CustomRoleArn } : {}) });
    const roleOf = (out: { Credentials?: { SessionToken?: string } }) =>
      describeSessionToken(out.Credentials!.SessionToken!)?.roleArn;

    // The admin matches the rule and may name its role.
    const adminFb = f.emu.mintProviderToken('graph.facebook.com', 'fb-admin', { audience: FB_APP });
    const admin = (await f.client.getId({ IdentityPoolId: pool, Logins: { 'graph.facebook.com': adminFb } }))
      .IdentityId!;
    assert.equal(roleOf(await credentials(admin, { 'graph.facebook.com': adminFb })), ADMIN);
    assert.equal(roleOf(await credentials(admin, { 'graph.facebook.com': adminFb }, ADMIN)), ADMIN);

    // A Facebook user who matches no rule gets the authenticated role, and cannot ask for the admin's.
    const userFb = f.emu.mintProviderToken('graph.facebook.com', 'fb-user', { audience: FB_APP });
    const user = (await f.client.getId({ IdentityPoolId: pool, Logins: { 'graph.facebook.com': userFb } })).IdentityId!;
    assert.equal(roleOf(await credentials(user, { 'graph.facebook.com': userFb })), AUTH_ROLE);
    const fbErr = await rejection(credentials(user, { 'graph.facebook.com': userFb }, ADMIN));
    assert.equal(fbErr.name, 'NotAuthorizedException');

    // A developer identity has no Facebook login: the Facebook mapping earns it nothing.
    const dev = await devToken('dev-escalation', pool);
    const devErr = await rejection(credentials(dev.IdentityId!, { [COGNITO]: dev.Token! }, ADMIN));
    assert.equal(devErr.name, 'NotAuthorizedException');
    assert.equal(roleOf(await credentials(dev.IdentityId!, { [COGNITO]: dev.Token! })), AUTH_ROLE);
  });

  void it('resolves Token role mappings for public providers from the provider token claims', async () => {
    const pool = await devPool(f.client, { name: 'token-mapped' });
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: { 'graph.facebook.com': { Type: 'Token', AmbiguousRoleResolution: 'Deny' } },
    });
    const fb = f.emu.mintProviderToken('graph.facebook.com', 'fb-token-mapped', { audience: 'fb-app-1' });
    const id = (await f.client.getId({ IdentityPoolId: pool, Logins: { 'graph.facebook.com': fb } })).IdentityId!;
    // Emulator provider tokens carry no cognito:roles claim: ambiguous, and this mapping denies.
    const err = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: id, Logins: { 'graph.facebook.com': fb } }),
    );
    assert.equal(err.name, 'NotAuthorizedException');
  });

  void it('accepts role mappings keyed by every form of provider the pool configured', async () => {
    const userPool = 'cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123';
    const oidc = 'arn:aws:iam::123456789012:oidc-provider/login.example.com';
    const saml = 'arn:aws:iam::123456789012:saml-provider/corp';
    const pool = await f.client.createIdentityPool({
      IdentityPoolName: 'every provider',
      AllowUnauthenticatedIdentities: false,
      DeveloperProviderName: 'login.every.app',
      SupportedLoginProviders: { 'graph.facebook.com': FB_APP },
      CognitoIdentityProviders: [{ ProviderName: userPool, ClientId: 'client123' }],
      OpenIdConnectProviderARNs: [oidc],
      SamlProviderARNs: [saml],
    });
    const token = { Type: 'Token' as const, AmbiguousRoleResolution: 'AuthenticatedRole' as const };
    const keys = ['graph.facebook.com', `${userPool}:client123`, oidc, saml, 'login.every.app'];
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: pool.IdentityPoolId!,
      Roles: { authenticated: AUTH_ROLE },
      RoleMappings: Object.fromEntries(keys.map((k) => [k, token])),
    });
    const roles = await f.client.getIdentityPoolRoles({ IdentityPoolId: pool.IdentityPoolId! });
    assert.deepEqual(Object.keys(roles.RoleMappings ?? {}).sort(), [...keys].sort());
  });

  void it('validates role mappings when they are set', async () => {
    const noRules = await rejection(
      f.client.setIdentityPoolRoles({
        IdentityPoolId: poolId,
        Roles: { authenticated: AUTH_ROLE },
        RoleMappings: { [DEV_PROVIDER]: { Type: 'Rules', AmbiguousRoleResolution: 'Deny' } },
      }),
    );
    assert.equal(noRules.name, 'InvalidParameterException');
    const noResolution = await rejection(
      f.client.setIdentityPoolRoles({
        IdentityPoolId: poolId,
        Roles: {},
        RoleMappings: { [DEV_PROVIDER]: { Type: 'Token' } },
      }),
    );
    assert.equal(noResolution.name, 'InvalidParameterException');
    const badArn = await rejection(
      f.client.setIdentityPoolRoles({
        IdentityPoolId: poolId,
        Roles: { authenticated: 'arn:aws:s3:::bucket/not-a-role' },
      }),
    );
    assert.equal(badArn.name, 'InvalidParameterException');
    const badKey = await rejection(
      f.client.setIdentityPoolRoles({ IdentityPoolId: poolId, Roles: { admin: AUTH_ROLE } }),
    );
    assert.equal(badKey.name, 'ValidationException');
    // A mapping keyed by a provider the pool does not have.
    const unknownProvider = await rejection(
      f.client.setIdentityPoolRoles({
        IdentityPoolId: poolId,
        Roles: { authenticated: AUTH_ROLE },
        RoleMappings: { 'accounts.google.com': { Type: 'Token', AmbiguousRoleResolution: 'AuthenticatedRole' } },
      }),
    );
    assert.deepEqual(
      [unknownProvider.name, unknownProvider.message],
      [
        'InvalidParameterException',
        "The role mapping key 'accounts.google.com' is not a login provider of this identity pool.",
      ],
    );
    const missing = await rejection(
      f.client.setIdentityPoolRoles({ IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000', Roles: {} }),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
  });
});
