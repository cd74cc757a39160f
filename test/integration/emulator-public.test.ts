import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeSessionToken } from '../../src/emulator/index.js';
import { claimsOf, DEV_PROVIDER, devPool, FB_APP, rejection, setup, type Fixture } from './emulator-fixture.js';

const COGNITO = 'cognito-identity.amazonaws.com';
const FB = 'graph.facebook.com';
const GOOGLE = 'accounts.google.com';
const AUTH = 'arn:aws:iam::123456789012:role/MergeAuth';
const UNAUTH = 'arn:aws:iam::123456789012:role/MergeUnauth';

void describe('emulator: public operations (GetId, GetOpenIdToken, UnlinkIdentity)', () => {
  let f: Fixture;
  let poolId: string;
  let closedPool: string;
  before(async () => {
    f = await setup();
    poolId = await devPool(f.client, { allowUnauth: true });
    closedPool = await devPool(f.client, { name: 'closed' });
  });
  after(async () => {
    await f.stop();
  });

  void it('creates a new guest identity per GetId call where guests are allowed', async () => {
    const a = await f.client.getId({ IdentityPoolId: poolId });
    const b = await f.client.getId({ IdentityPoolId: poolId, AccountId: '123456789012' });
    assert.match(a.IdentityId!, /^us-east-1:[0-9a-f-]{36}$/);
    assert.notEqual(a.IdentityId, b.IdentityId);
    const err = await rejection(f.client.getId({ IdentityPoolId: closedPool }));
    assert.equal(err.name, 'NotAuthorizedException');
    assert.equal(err.message, 'Unauthenticated access is not supported for this identity pool.');
    const missing = await rejection(
      f.client.getId({ IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000' }),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
  });

  void it('issues a 10-minute unauthenticated token to a guest', async () => {
    const { IdentityId } = await f.client.getId({ IdentityPoolId: poolId });
    const out = await f.client.getOpenIdToken({ IdentityId: IdentityId! });
    assert.equal(out.IdentityId, IdentityId);
    const c = claimsOf(out.Token!);
    assert.deepEqual(c.amr, ['unauthenticated']);
    assert.equal(c.aud, poolId);
    assert.equal(c.sub, IdentityId);
    assert.equal((c.exp as number) - (c.iat as number), 600);
  });

  void it('maps one provider login to one identity, and refuses forged or foreign provider tokens', async () => {
    const token = f.emu.mintProviderToken(FB, 'fb-1');
    const a = await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: token } });
    const b = await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: f.emu.mintProviderToken(FB, 'fb-1') } });
    assert.equal(a.IdentityId, b.IdentityId);
    const tok = await f.client.getOpenIdToken({ IdentityId: a.IdentityId!, Logins: { [FB]: token } });
    const guid = poolId.split(':')[1]!;
    assert.deepEqual(claimsOf(tok.Token!).amr, ['authenticated', FB, `${FB}:us-east-1:${guid}:fb-1`]);
    await f.client.getCredentialsForIdentity({ IdentityId: a.IdentityId!, Logins: { [FB]: token } });

    const [h, p] = token.split('.') as [string, string, string];
    const forged = `${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`;
    assert.equal(
      (await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: forged } }))).name,
      'NotAuthorizedException',
    );
    const wrongApp = f.emu.mintProviderToken(FB, 'fb-1', { audience: 'another-app' });
    assert.equal(
      (await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: wrongApp } }))).name,
      'NotAuthorizedException',
    );
    const expired = f.emu.mintProviderToken(FB, 'fb-1', { expiresInSeconds: 10 });
    f.clock.advanceSeconds(11);
    assert.equal(
      (await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: expired } }))).name,
      'NotAuthorizedException',
    );
    const unsupported = await rejection(
      f.client.getId({ IdentityPoolId: poolId, Logins: { 'accounts.google.com': 'x' } }),
    );
    assert.equal(unsupported.name, 'NotAuthorizedException');
    assert.equal(unsupported.message, 'Token is not from a supported provider of this identity pool.');
    const dev = await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [DEV_PROVIDER]: 'u' } }));
    assert.equal(dev.name, 'NotAuthorizedException');
    const cognito = await rejection(f.client.getId({ IdentityPoolId: poolId, Logins: { [COGNITO]: tok.Token! } }));
    assert.equal(cognito.name, 'NotAuthorizedException');
    assert.equal(cognito.message, "Invalid login token. Can't pass in a Cognito token.");
  });

  void it('links a provider login to a guest identity through GetOpenIdToken, and refuses conflicts', async () => {
    const guest = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const fb = f.emu.mintProviderToken(FB, 'fb-guest');
    await f.client.getOpenIdToken({ IdentityId: guest, Logins: { [FB]: fb } });
    assert.deepEqual((await f.client.describeIdentity({ IdentityId: guest })).Logins, [FB]);
    // Now authenticated: a guest token request is refused.
    assert.equal((await rejection(f.client.getOpenIdToken({ IdentityId: guest }))).name, 'NotAuthorizedException');
    // Same login for another authenticated identity that the call cannot speak for: conflict.
    const other = (
      await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: f.emu.mintProviderToken(FB, 'fb-x') } })
    ).IdentityId!;
    const conflict = await rejection(f.client.getOpenIdToken({ IdentityId: other, Logins: { [FB]: fb } }));
    assert.equal(conflict.name, 'ResourceConflictException');
    // Another Facebook user for an identity that already has one: conflict.
    const second = await rejection(
      f.client.getOpenIdToken({ IdentityId: guest, Logins: { [FB]: f.emu.mintProviderToken(FB, 'fb-other') } }),
    );
    assert.equal(second.name, 'ResourceConflictException');
    const missing = await rejection(
      f.client.getOpenIdToken({ IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000' }),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
  });

  void it('merges a guest into the identity of a login it names (implicit merge): GetOpenIdToken, GetCredentialsForIdentity, GetId', async () => {
    const pool = await f.client.createIdentityPool({
      IdentityPoolName: 'implicit merge',
      AllowUnauthenticatedIdentities: true,
      SupportedLoginProviders: { [FB]: FB_APP, [GOOGLE]: 'google-app' },
    });
    const poolId = pool.IdentityPoolId!;
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: poolId,
      Roles: { authenticated: AUTH, unauthenticated: UNAUTH },
    });
    const fb = f.emu.mintProviderToken(FB, 'fb-merge', { audience: FB_APP });
    const owner = (await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: fb } })).IdentityId!;

    // GetOpenIdToken: a guest names the owner's login; the owner survives, the guest is disabled.
    const guest1 = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const tok = await f.client.getOpenIdToken({ IdentityId: guest1, Logins: { [FB]: fb } });
    assert.equal(tok.IdentityId, owner);
    assert.equal(claimsOf(tok.Token!).sub, owner);
    const gone = await rejection(f.client.getOpenIdToken({ IdentityId: guest1 }));
    assert.deepEqual(
      [gone.name, gone.message],
      ['NotAuthorizedException', `Access to Identity '${guest1}' is forbidden.`],
    );

    // GetCredentialsForIdentity: the same, answered with the owner's id and credentials.
    const guest2 = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const creds = await f.client.getCredentialsForIdentity({ IdentityId: guest2, Logins: { [FB]: fb } });
    assert.equal(creds.IdentityId, owner);
    assert.equal(describeSessionToken(creds.Credentials!.SessionToken!)?.identityId, owner);
    assert.equal(
      (await rejection(f.client.getCredentialsForIdentity({ IdentityId: guest2 }))).name,
      'NotAuthorizedException',
    );

    // GetId with logins of two identities: both tokens prove them; the older identity survives
    // with both logins, the other is disabled.
    const google = f.emu.mintProviderToken(GOOGLE, 'g-merge', { audience: 'google-app' });
    const younger = (await f.client.getId({ IdentityPoolId: poolId, Logins: { [GOOGLE]: google } })).IdentityId!;
    const both = await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: fb, [GOOGLE]: google } });
    assert.equal(both.IdentityId, owner);
    assert.deepEqual((await f.client.describeIdentity({ IdentityId: owner })).Logins?.sort(), [FB, GOOGLE].sort());
    assert.equal((await f.client.getId({ IdentityPoolId: poolId, Logins: { [GOOGLE]: google } })).IdentityId, owner);
    const merged = await rejection(f.client.getOpenIdToken({ IdentityId: younger }));
    assert.deepEqual(
      [merged.name, merged.message],
      ['NotAuthorizedException', `Access to Identity '${younger}' is forbidden.`],
    );
    const listed = await f.client.listIdentities({ IdentityPoolId: poolId, MaxResults: 60, HideDisabled: true });
    const ids = listed.Identities?.map((i) => i.IdentityId) ?? [];
    assert.ok(ids.includes(owner) && !ids.includes(guest1) && !ids.includes(guest2) && !ids.includes(younger));
  });

  void it('leaves no implicit merge behind when the call that made it is refused', async () => {
    const AMAZON = 'www.amazon.com';
    const pool = await f.client.createIdentityPool({
      IdentityPoolName: 'atomic merge',
      AllowUnauthenticatedIdentities: true,
      SupportedLoginProviders: { [FB]: FB_APP, [GOOGLE]: 'google-app', [AMAZON]: 'amzn-app' },
    });
    const poolId = pool.IdentityPoolId!;
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: poolId,
      Roles: { authenticated: AUTH, unauthenticated: UNAUTH },
    });
    const fb = (sub: string) => f.emu.mintProviderToken(FB, sub, { audience: FB_APP });
    const google = (sub: string) => f.emu.mintProviderToken(GOOGLE, sub, { audience: 'google-app' });
    const amazon = (sub: string) => f.emu.mintProviderToken(AMAZON, sub, { audience: 'amzn-app' });
    const idOf = async (Logins: Record<string, string>) =>
      (await f.client.getId({ IdentityPoolId: poolId, Logins })).IdentityId!;
    const loginsOf = async (IdentityId: string) => (await f.client.describeIdentity({ IdentityId })).Logins?.sort();
    const owner = await idOf({ [FB]: fb('a'), [GOOGLE]: google('x') });

    // GetCredentialsForIdentity: the guest merges into the owner of Facebook a, then Google y
    // (not the owner's) refuses the call: the guest is still a usable guest.
    const guest1 = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const refused1 = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: guest1, Logins: { [FB]: fb('a'), [AMAZON]: amazon('y') } }),
    );
    assert.equal(refused1.name, 'NotAuthorizedException');
    assert.equal((await f.client.getCredentialsForIdentity({ IdentityId: guest1 })).IdentityId, guest1);

    // GetOpenIdToken: the merge succeeds, then linking Google y to an owner holding Google x is refused.
    const guest2 = (await f.client.getId({ IdentityPoolId: poolId })).IdentityId!;
    const refused2 = await rejection(
      f.client.getOpenIdToken({ IdentityId: guest2, Logins: { [FB]: fb('a'), [GOOGLE]: google('y') } }),
    );
    assert.equal(refused2.name, 'ResourceConflictException');
    assert.equal((await f.client.getOpenIdToken({ IdentityId: guest2 })).IdentityId, guest2);

    // GetId: the second identity merges into the oldest, the third conflicts (another Facebook user):
    // neither merge is made, and each login still finds its own identity.
    const second = await idOf({ [AMAZON]: amazon('b') });
    const third = await idOf({ [GOOGLE]: google('w') });
    await f.client.getOpenIdToken({ IdentityId: third, Logins: { [GOOGLE]: google('w'), [FB]: fb('z') } });
    const refused3 = await rejection(
      f.client.getId({
        IdentityPoolId: poolId,
        Logins: { [FB]: fb('a'), [AMAZON]: amazon('b'), [GOOGLE]: google('w') },
      }),
    );
    assert.equal(refused3.name, 'ResourceConflictException');
    assert.deepEqual(await loginsOf(owner), [FB, GOOGLE].sort());
    assert.deepEqual(await loginsOf(second), [AMAZON]);
    assert.equal(await idOf({ [AMAZON]: amazon('b') }), second);
    assert.equal(
      (await f.client.getOpenIdToken({ IdentityId: second, Logins: { [AMAZON]: amazon('b') } })).IdentityId,
      second,
    );
    // The pool is the only one supporting Amazon, which a later test needs none to.
    await f.client.deleteIdentityPool({ IdentityPoolId: poolId });
  });

  void it('refuses guest tokens where the pool does not allow guests', async () => {
    const pool = (await f.client.createIdentityPool({ IdentityPoolName: 'flip', AllowUnauthenticatedIdentities: true }))
      .IdentityPoolId!;
    const guest = (await f.client.getId({ IdentityPoolId: pool })).IdentityId!;
    await f.client.updateIdentityPool({
      IdentityPoolId: pool,
      IdentityPoolName: 'flip',
      AllowUnauthenticatedIdentities: false,
    });
    const err = await rejection(f.client.getOpenIdToken({ IdentityId: guest }));
    assert.equal(err.name, 'NotAuthorizedException');
  });

  void it('unlinks a public login with its provider token or a Cognito token; the last unlink disables the identity', async () => {
    const fb = f.emu.mintProviderToken(FB, 'fb-unlink');
    const dev = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'unlinker', [FB]: fb },
    });
    const id = dev.IdentityId!;
    // Wrong proof: a token of another Facebook user.
    const wrong = await rejection(
      f.client.unlinkIdentity({
        IdentityId: id,
        Logins: { [FB]: f.emu.mintProviderToken(FB, 'fb-x') },
        LoginsToRemove: [FB],
      }),
    );
    assert.equal(wrong.name, 'NotAuthorizedException');
    const refuseDev = await rejection(
      f.client.unlinkIdentity({ IdentityId: id, Logins: { [COGNITO]: dev.Token! }, LoginsToRemove: [DEV_PROVIDER] }),
    );
    assert.equal(refuseDev.name, 'InvalidParameterException');
    await f.client.unlinkIdentity({ IdentityId: id, Logins: { [COGNITO]: dev.Token! }, LoginsToRemove: [FB] });
    assert.deepEqual((await f.client.describeIdentity({ IdentityId: id })).Logins, [DEV_PROVIDER]);
    // The login is free again.
    const fresh = (await f.client.getId({ IdentityPoolId: poolId, Logins: { [FB]: fb } })).IdentityId!;
    assert.notEqual(fresh, id);
    await f.client.unlinkIdentity({ IdentityId: fresh, Logins: { [FB]: fb }, LoginsToRemove: [FB] });
    const gone = await rejection(f.client.getOpenIdToken({ IdentityId: fresh, Logins: { [FB]: fb } }));
    assert.equal(gone.name, 'NotAuthorizedException');
    assert.equal(gone.message, `Access to Identity '${fresh}' is forbidden.`);
    const missing = await rejection(
      f.client.unlinkIdentity({
        IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000',
        Logins: { [FB]: fb },
        LoginsToRemove: [FB],
      }),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
    const noLogins = await rejection(f.client.unlinkIdentity({ IdentityId: id, Logins: {}, LoginsToRemove: [FB] }));
    assert.equal(noLogins.name, 'NotAuthorizedException');
  });

  void it('public operations need no SigV4, developer operations do', async () => {
    const post = (target: string, body: unknown) =>
      fetch(f.emu.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `AWSCognitoIdentityService.${target}`,
        },
        body: JSON.stringify(body),
      });
    const ok = await post('GetId', { IdentityPoolId: poolId });
    assert.equal(ok.status, 200);
    const dev = await post('LookupDeveloperIdentity', { IdentityPoolId: poolId, DeveloperUserIdentifier: 'x' });
    assert.equal(dev.status, 400);
    assert.equal(dev.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
  });

  void it('uses the app id of the pool that supports the provider when minting', () => {
    const t = f.emu.mintProviderToken(FB, 'fb-aud');
    assert.equal(claimsOf(t).aud, FB_APP);
    assert.throws(() => f.emu.mintProviderToken('www.amazon.com', 's'), TypeError);
  });
});
