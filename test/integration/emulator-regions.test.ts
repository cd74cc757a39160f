// Two real SDK clients in two regions over one emulator: every region is served at once, each sees
// only its own pools, and ids, kids, ARNs and claims carry the region as the service's do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { STS } from '@aws-sdk/client-sts';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { EMULATOR_ACCOUNT_ID } from '../../src/emulator/index.js';
import { AUTH_ROLE, claimsOf, DEV_PROVIDER, devPool, rejection, setup, type Fixture } from './emulator-fixture.js';

const EU = 'eu-central-1';
const POOL_ARN_CLAIM = 'https://cognito-identity.amazonaws.com/identity-pool-arn';

void describe('emulator: every region in one process', () => {
  let f: Fixture;
  let eu: CognitoIdentity;
  let usPool: string;
  let euPool: string;
  before(async () => {
    f = await setup({ strictSigV4: [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }] });
    eu = new CognitoIdentity({
      endpoint: f.emu.endpoint,
      region: EU,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    usPool = await devPool(f.client, { name: 'us pool' });
    euPool = await devPool(eu, { name: 'eu pool', allowUnauth: true });
  });
  after(async () => {
    eu.destroy();
    await f.stop();
  });

  void it('creates pools in the region of the signed call, each invisible to the other region', async () => {
    assert.equal(f.emu.region, 'us-east-1');
    assert.match(usPool, /^us-east-1:[0-9a-f-]{36}$/);
    assert.match(euPool, /^eu-central-1:[0-9a-f-]{36}$/);
    assert.deepEqual((await f.client.listIdentityPools({ MaxResults: 60 })).IdentityPools, [
      { IdentityPoolId: usPool, IdentityPoolName: 'us pool' },
    ]);
    assert.deepEqual((await eu.listIdentityPools({ MaxResults: 60 })).IdentityPools, [
      { IdentityPoolId: euPool, IdentityPoolName: 'eu pool' },
    ]);
    for (const [client, other] of [
      [f.client, euPool],
      [eu, usPool],
    ] as const) {
      const err = await rejection(client.describeIdentityPool({ IdentityPoolId: other }));
      assert.equal(err.name, 'ResourceNotFoundException');
      assert.equal(err.message, `IdentityPool '${other}' not found.`);
    }
    const euArn = `arn:aws:cognito-identity:${EU}:${EMULATOR_ACCOUNT_ID}:identitypool/${euPool}`;
    await eu.tagResource({ ResourceArn: euArn, Tags: { team: 'eu' } });
    assert.deepEqual((await eu.listTagsForResource({ ResourceArn: euArn })).Tags, { team: 'eu' });
    assert.equal(
      (await rejection(f.client.listTagsForResource({ ResourceArn: euArn }))).name,
      'ResourceNotFoundException',
    );
  });

  void it('signs each region’s tokens with its own kid and claims, all in one JWKS under the one issuer', async () => {
    const us = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: usPool,
      Logins: { [DEV_PROVIDER]: 'alice' },
    });
    const e = await eu.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: euPool,
      Logins: { [DEV_PROVIDER]: 'alice' },
    });
    assert.match(e.IdentityId!, /^eu-central-1:/);
    assert.notEqual(e.IdentityId, us.IdentityId);
    assert.equal(decodeProtectedHeader(us.Token!).kid, 'us-east-1-1');
    assert.equal(decodeProtectedHeader(e.Token!).kid, 'eu-central-1-1');
    const c = claimsOf(e.Token!);
    const guid = euPool.split(':')[1]!;
    assert.deepEqual(c.amr, ['authenticated', DEV_PROVIDER, `${DEV_PROVIDER}:${EU}:${guid}:alice`]);
    assert.equal(c[POOL_ARN_CLAIM], `arn:aws:cognito-identity:${EU}:${EMULATOR_ACCOUNT_ID}:identitypool/${euPool}`);

    const discovery = (await (await fetch(`${f.emu.endpoint}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    // The service's issuer is one for every commercial region.
    assert.equal(discovery.issuer, 'https://cognito-identity.amazonaws.com');
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet;
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), ['eu-central-1-1', 'us-east-1-1']);
    const keys = createLocalJWKSet(jwks);
    for (const [token, pool] of [
      [us.Token!, usPool],
      [e.Token!, euPool],
    ] as const) {
      // Rejects unless the signature, issuer and audience all check out.
      await jwtVerify(token, keys, { issuer: discovery.issuer, audience: pool, algorithms: ['RS512'] });
    }
  });

  void it('answers unsigned calls in the region of the pool or identity they name, whatever the client’s region', async () => {
    // The us-east-1 client names an eu-central-1 pool: the call goes to eu-central-1.
    const guest = (await f.client.getId({ IdentityPoolId: euPool })).IdentityId!;
    assert.match(guest, /^eu-central-1:/);
    const token = await f.client.getOpenIdToken({ IdentityId: guest });
    assert.equal(decodeProtectedHeader(token.Token!).kid, 'eu-central-1-1');
    const creds = await f.client.getCredentialsForIdentity({ IdentityId: guest });
    assert.equal(creds.IdentityId, guest);
    // An eu-central-1 identity is not found in us-east-1 by a signed call.
    assert.equal((await rejection(f.client.describeIdentity({ IdentityId: guest }))).name, 'ResourceNotFoundException');
    assert.equal((await eu.describeIdentity({ IdentityId: guest })).IdentityId, guest);
    // A region never used holds nothing, and an unsigned call does not bring it into being.
    const nowhere = 'ap-southeast-2:00000000-0000-0000-0000-000000000000';
    const missing = await rejection(f.client.getId({ IdentityPoolId: nowhere }));
    assert.equal(missing.name, 'ResourceNotFoundException');
    assert.equal(missing.message, `IdentityPool '${nowhere}' not found.`);
    const creds404 = await rejection(f.client.getCredentialsForIdentity({ IdentityId: nowhere }));
    assert.equal(creds404.message, `Identity '${nowhere}' not found.`);
    const jwks = (await (await fetch(`${f.emu.endpoint}/.well-known/jwks_uri`)).json()) as JSONWebKeySet;
    assert.equal(jwks.keys.length, 2);
  });

  void it('accepts the emulator’s provider tokens in every region', async () => {
    const fb = f.emu.mintProviderToken('graph.facebook.com', 'fb-everywhere');
    const a = (await eu.getId({ IdentityPoolId: euPool, Logins: { 'graph.facebook.com': fb } })).IdentityId!;
    const b = (await f.client.getId({ IdentityPoolId: usPool, Logins: { 'graph.facebook.com': fb } })).IdentityId!;
    assert.match(a, /^eu-central-1:/);
    assert.match(b, /^us-east-1:/);
    await eu.setIdentityPoolRoles({ IdentityPoolId: euPool, Roles: { authenticated: AUTH_ROLE } });
    const creds = await eu.getCredentialsForIdentity({ IdentityId: a, Logins: { 'graph.facebook.com': fb } });
    assert.match(creds.Credentials!.AccessKeyId!, /^ASIA/);
  });

  void it('refuses a signature scoped to something that is not a region', async () => {
    const odd = new CognitoIdentity({
      endpoint: f.emu.endpoint,
      region: 'nowhere',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const err = await rejection(odd.listIdentityPools({ MaxResults: 1 }));
      assert.equal(err.name, 'InvalidSignatureException');
      assert.equal(err.message, 'Credential should be scoped to a valid region.');
    } finally {
      odd.destroy();
    }
  });

  void it('issues tokens with the issuer the developer guide documents for opt-in Regions and GovCloud, which STS accepts', async () => {
    const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const sts = new STS({ endpoint: f.emu.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: keys });
    try {
      for (const [region, issuer] of [
        ['af-south-1', 'https://cognito-identity.af-south-1.amazonaws.com'],
        ['il-central-1', 'https://cognito-identity.il-central-1.amazonaws.com'],
        ['us-gov-west-1', 'https://cognito-identity-us-gov.amazonaws.com'],
        ['us-gov-east-1', 'https://cognito-identity.us-gov-east-1.amazonaws.com'],
        ['eu-west-3', 'https://cognito-identity.amazonaws.com'],
      ] as const) {
        const c = new CognitoIdentity({ endpoint: f.emu.endpoint, region, credentials: keys, maxAttempts: 1 });
        try {
          const pool = await devPool(c, { name: `${region} pool` });
          const t = await c.getOpenIdTokenForDeveloperIdentity({
            IdentityPoolId: pool,
            Logins: { [DEV_PROVIDER]: 'u' },
          });
          assert.equal(claimsOf(t.Token!).iss, issuer, region);
          // The service takes its own tokens back (enhanced flow), and so does STS (basic flow).
          await c.getCredentialsForIdentity({
            IdentityId: t.IdentityId!,
            Logins: { 'cognito-identity.amazonaws.com': t.Token! },
          });
          const partition = region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
          const out = await sts.assumeRoleWithWebIdentity({
            RoleArn: `arn:${partition}:iam::${EMULATOR_ACCOUNT_ID}:role/Other`,
            RoleSessionName: 'opt-in',
            WebIdentityToken: t.Token!,
          });
          assert.equal(out.Provider, issuer.slice('https://'.length), region);
        } finally {
          c.destroy();
        }
      }
    } finally {
      sts.destroy();
    }
    // The discovery document of an emulator whose region is an opt-in one names that issuer.
    const optIn = await setup({ region: 'af-south-1' });
    try {
      const conf = (await (await fetch(`${optIn.emu.endpoint}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal(conf.issuer, 'https://cognito-identity.af-south-1.amazonaws.com');
      assert.equal(conf.jwks_uri, `${optIn.emu.endpoint}/.well-known/jwks_uri`);
    } finally {
      await optIn.stop();
    }
  });
});
