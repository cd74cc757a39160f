// The real SDK against the emulator: the claims and lifetimes of its OpenID tokens, and the service's
// words for a login token it refuses.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMULATOR_ACCOUNT_ID } from '../../src/emulator/index.js';
import { claimsOf, DEV_PROVIDER, devPool, rejection, setup, type Fixture } from './emulator-fixture.js';

const FB = 'graph.facebook.com';
const GOOGLE = 'accounts.google.com';
const POOL_ARN_CLAIM = 'https://cognito-identity.amazonaws.com/identity-pool-arn';

void describe('emulator: token claims, lifetimes and refused login tokens', () => {
  let f: Fixture;
  let poolId: string;
  before(async () => {
    f = await setup();
    poolId = await devPool(f.client, { allowUnauth: true });
    await f.client.updateIdentityPool({
      IdentityPoolId: poolId,
      IdentityPoolName: 'dev pool',
      AllowUnauthenticatedIdentities: true,
      DeveloperProviderName: DEV_PROVIDER,
      SupportedLoginProviders: { [FB]: 'fb-app-1', [GOOGLE]: 'google-client-1' },
    });
  });
  after(async () => {
    await f.stop();
  });

  void it('puts the identity-pool-arn claim in every token, in the order of a real token', async () => {
    const arn = `arn:aws:cognito-identity:us-east-1:${EMULATOR_ACCOUNT_ID}:identitypool/${poolId}`;
    const dev = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'claims-user' },
    });
    const claims = claimsOf(dev.Token!);
    assert.equal(claims[POOL_ARN_CLAIM], arn);
    assert.deepEqual(Object.keys(claims), ['sub', 'aud', 'amr', 'iss', POOL_ARN_CLAIM, 'exp', 'iat']);
    const guest = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const guestToken = await f.client.getOpenIdToken({ IdentityId: guest });
    assert.equal(claimsOf(guestToken.Token!)[POOL_ARN_CLAIM], arn);
  });

  void it('issues GetOpenIdToken tokens for ten minutes, as the model documents', async () => {
    const guest = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const c = claimsOf((await f.client.getOpenIdToken({ IdentityId: guest })).Token!);
    assert.equal((c.exp as number) - (c.iat as number), 600);
    const fb = f.emu.mintProviderToken(FB, 'ten-minutes');
    const id = (await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: fb } })).IdentityId!;
    const auth = claimsOf((await f.client.getOpenIdToken({ IdentityId: id, Logins: { [FB]: fb } })).Token!);
    assert.equal((auth.exp as number) - (auth.iat as number), 600);
  });

  void it('accepts its own minted tokens for every provider, and refuses any other in the service’s words', async () => {
    for (const provider of [FB, GOOGLE]) {
      const token = f.emu.mintProviderToken(provider, `user-of-${provider}`);
      const id = (await f.client.getId({ IdentityPoolId: poolId, Logins: { [provider]: token } })).IdentityId!;
      assert.deepEqual((await f.client.describeIdentity({ IdentityId: id })).Logins, [provider]);
    }
    const minted = f.emu.mintProviderToken(FB, 'fb-words');
    const [h, p] = minted.split('.') as [string, string, string];
    const cases: [string, string, string][] = [
      // A real Facebook access token is opaque.
      [FB, 'EAAGm0PX4ZCpsBAKZCZBopaqueFacebookAccessToken', "Invalid login token. Couldn't verify signed token."],
      [GOOGLE, 'not-a-jwt', 'Invalid login token. Not a valid OpenId Connect identity token.'],
      [GOOGLE, 'a.b', 'Invalid login token. Not a valid OpenId Connect identity token.'],
      [
        FB,
        `${h}.${p}.${Buffer.alloc(256, 7).toString('base64url')}`,
        "Invalid login token. Couldn't verify signed token.",
      ],
      [GOOGLE, minted, "Invalid login token. Issuer doesn't match providerName"],
      [
        FB,
        f.emu.mintProviderToken(FB, 'x', { audience: 'another-app' }),
        'Invalid login token. Incorrect token audience.',
      ],
    ];
    for (const [provider, token, message] of cases) {
      const err = await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [provider]: token } }));
      assert.equal(err.name, 'NotAuthorizedException', token.slice(0, 30));
      assert.equal(err.message, message, token.slice(0, 30));
      assert.doesNotMatch(err.message, /JWS|base64url|compact/);
    }
    const expiring = f.emu.mintProviderToken(FB, 'fb-expiring', { expiresInSeconds: 10 });
    const exp = claimsOf(expiring).exp as number;
    f.clock.advanceSeconds(11);
    const expired = await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: expiring } }));
    assert.equal(expired.name, 'NotAuthorizedException');
    assert.equal(expired.message, `Invalid login token. Token expired: ${String(exp + 1)} >= ${String(exp)}`);
    // A Cognito token that is not one of ours.
    const guest = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const notCognito = await rejection(
      f.client.getCredentialsForIdentity({
        IdentityId: guest,
        Logins: { 'cognito-identity.amazonaws.com': 'garbage' },
      }),
    );
    assert.equal(notCognito.message, 'Invalid login token. Not a Cognito token.');
  });
});
