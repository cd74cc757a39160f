import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMULATOR_ACCOUNT_ID } from '../../src/emulator/index.js';
import { DEV_PROVIDER, rejection, setup, type Fixture } from './emulator-fixture.js';

const MISSING_POOL = 'us-east-1:00000000-0000-0000-0000-000000000000';

void describe('emulator: identity pools, tags and principal tags', () => {
  let f: Fixture;
  before(async () => {
    f = await setup();
  });
  after(async () => {
    await f.stop();
  });

  void it('creates, describes, updates and deletes a pool', async () => {
    const created = await f.client.createIdentityPool({
      IdentityPoolName: 'my pool',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: true,
      DeveloperProviderName: DEV_PROVIDER,
      SupportedLoginProviders: { 'graph.facebook.com': 'app1' },
      OpenIdConnectProviderARNs: ['arn:aws:iam::123456789012:oidc-provider/example.com'],
      CognitoIdentityProviders: [
        { ProviderName: 'cognito-idp.us-east-1.amazonaws.com/us-east-1_abc', ClientId: 'client1' },
      ],
      SamlProviderARNs: ['arn:aws:iam::123456789012:saml-provider/idp'],
      IdentityPoolTags: { env: 'test' },
    });
    const id = created.IdentityPoolId!;
    assert.match(id, /^us-east-1:[0-9a-f-]{36}$/);
    const described = await f.client.describeIdentityPool({ IdentityPoolId: id });
    assert.equal(described.IdentityPoolName, 'my pool');
    assert.equal(described.AllowUnauthenticatedIdentities, true);
    assert.equal(described.AllowClassicFlow, true);
    assert.equal(described.DeveloperProviderName, DEV_PROVIDER);
    assert.deepEqual(described.SupportedLoginProviders, { 'graph.facebook.com': 'app1' });
    assert.deepEqual(described.OpenIdConnectProviderARNs, ['arn:aws:iam::123456789012:oidc-provider/example.com']);
    assert.equal(described.CognitoIdentityProviders?.[0]?.ClientId, 'client1');
    assert.equal(described.CognitoIdentityProviders[0].ServerSideTokenCheck, false);
    assert.deepEqual(described.SamlProviderARNs, ['arn:aws:iam::123456789012:saml-provider/idp']);
    assert.deepEqual(described.IdentityPoolTags, { env: 'test' });

    const updated = await f.client.updateIdentityPool({
      IdentityPoolId: id,
      IdentityPoolName: 'renamed',
      AllowUnauthenticatedIdentities: false,
      DeveloperProviderName: DEV_PROVIDER,
    });
    assert.equal(updated.IdentityPoolName, 'renamed');
    assert.equal(updated.AllowUnauthenticatedIdentities, false);
    assert.deepEqual(updated.SupportedLoginProviders, {});
    assert.equal(updated.OpenIdConnectProviderARNs, undefined);
    assert.deepEqual(updated.IdentityPoolTags, { env: 'test' });
    const changeDev = await rejection(
      f.client.updateIdentityPool({
        IdentityPoolId: id,
        IdentityPoolName: 'renamed',
        AllowUnauthenticatedIdentities: false,
        DeveloperProviderName: 'new.app',
      }),
    );
    assert.equal(changeDev.name, 'InvalidParameterException');

    await f.client.deleteIdentityPool({ IdentityPoolId: id });
    const gone = await rejection(f.client.describeIdentityPool({ IdentityPoolId: id }));
    assert.equal(gone.name, 'ResourceNotFoundException');
    assert.equal(gone.message, `IdentityPool '${id}' not found.`);
    assert.equal(
      (await rejection(f.client.deleteIdentityPool({ IdentityPoolId: id }))).name,
      'ResourceNotFoundException',
    );
    assert.equal(
      (
        await rejection(
          f.client.updateIdentityPool({
            IdentityPoolId: id,
            IdentityPoolName: 'x',
            AllowUnauthenticatedIdentities: false,
          }),
        )
      ).name,
      'ResourceNotFoundException',
    );
  });

  void it('validates CreateIdentityPool input like the service', async () => {
    const err = await rejection(
      f.client.createIdentityPool({ IdentityPoolName: 'bad/name', AllowUnauthenticatedIdentities: false }),
    );
    assert.equal(err.name, 'ValidationException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(
      err.message,
      "1 validation error detected: Value 'bad/name' at 'identityPoolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+",
    );
    const reserved = await rejection(
      f.client.createIdentityPool({
        IdentityPoolName: 'p',
        AllowUnauthenticatedIdentities: false,
        SupportedLoginProviders: { 'cognito-identity.amazonaws.com': 'x' },
      }),
    );
    assert.equal(reserved.name, 'InvalidParameterException');
    const manyTags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await rejection(
      f.client.createIdentityPool({
        IdentityPoolName: 'p',
        AllowUnauthenticatedIdentities: false,
        IdentityPoolTags: manyTags,
      }),
    );
    assert.equal(tooMany.name, 'InvalidParameterException');
  });

  void it('answers LimitExceededException past 1000 pools in the account', async () => {
    const own = await setup();
    try {
      await Promise.all(
        Array.from({ length: 10 }, async (_, w) => {
          for (let i = 0; i < 100; i++) {
            await own.client.createIdentityPool({
              IdentityPoolName: `p${w}-${i}`,
              AllowUnauthenticatedIdentities: false,
            });
          }
        }),
      );
      const err = await rejection(
        own.client.createIdentityPool({ IdentityPoolName: 'one too many', AllowUnauthenticatedIdentities: false }),
      );
      assert.equal(err.name, 'LimitExceededException');
    } finally {
      await own.stop();
    }
  });

  void it('lists pools with opaque NextTokens', async () => {
    const names = ['l-a', 'l-b', 'l-c', 'l-d', 'l-e'];
    const ids: string[] = [];
    for (const n of names)
      ids.push(
        (await f.client.createIdentityPool({ IdentityPoolName: n, AllowUnauthenticatedIdentities: false }))
          .IdentityPoolId!,
      );
    const seen: { IdentityPoolId?: string; IdentityPoolName?: string }[] = [];
    let token: string | undefined;
    do {
      const page = await f.client.listIdentityPools({ MaxResults: 2, ...(token ? { NextToken: token } : {}) });
      assert.ok((page.IdentityPools?.length ?? 0) <= 2);
      seen.push(...(page.IdentityPools ?? []));
      token = page.NextToken;
    } while (token);
    const mine = seen.filter((p) => names.includes(p.IdentityPoolName!));
    assert.deepEqual(
      mine.map((p) => p.IdentityPoolId),
      ids,
    );
    const bad = await rejection(f.client.listIdentityPools({ MaxResults: 2, NextToken: 'bm90LWEtdG9rZW4' }));
    assert.equal(bad.name, 'InvalidParameterException');
    const zero = await rejection(f.client.listIdentityPools({ MaxResults: 0 }));
    assert.equal(zero.name, 'ValidationException');
  });

  void it('tags by pool ARN: tag, untag, list, with the 50-tag limit and reserved prefix', async () => {
    const id = (
      await f.client.createIdentityPool({
        IdentityPoolName: 'tags',
        AllowUnauthenticatedIdentities: false,
        IdentityPoolTags: { a: '1' },
      })
    ).IdentityPoolId!;
    const arn = `arn:aws:cognito-identity:us-east-1:${EMULATOR_ACCOUNT_ID}:identitypool/${id}`;
    assert.match(EMULATOR_ACCOUNT_ID, /^\d{12}$/);
    await f.client.tagResource({ ResourceArn: arn, Tags: { b: '2', c: '' } });
    assert.deepEqual((await f.client.listTagsForResource({ ResourceArn: arn })).Tags, { a: '1', b: '2', c: '' });
    await f.client.untagResource({ ResourceArn: arn, TagKeys: ['a', 'zzz'] });
    assert.deepEqual((await f.client.listTagsForResource({ ResourceArn: arn })).Tags, { b: '2', c: '' });
    assert.deepEqual((await f.client.describeIdentityPool({ IdentityPoolId: id })).IdentityPoolTags, { b: '2', c: '' });
    const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`t${i}`, 'v']));
    const tooMany = await rejection(f.client.tagResource({ ResourceArn: arn, Tags: many }));
    assert.equal(tooMany.name, 'InvalidParameterException');
    const reserved = await rejection(f.client.tagResource({ ResourceArn: arn, Tags: { 'aws:x': 'y' } }));
    assert.equal(reserved.name, 'InvalidParameterException');
    // Letters (any script), numbers, spaces and _ . : / = + - @ only, in keys and values.
    await f.client.tagResource({ ResourceArn: arn, Tags: { 'équipe A_1.x:y/z=+-@': 'café 42 @home' } });
    for (const [bad, where] of [
      [{ 'a*b': 'ok' }, 'key'],
      [{ ok: 'semi;colon' }, 'value'],
      [{ 'new\nline': 'v' }, 'key'],
    ] as const) {
      const err = await rejection(f.client.tagResource({ ResourceArn: arn, Tags: bad }));
      assert.equal(err.name, 'InvalidParameterException', where);
    }
    const atCreate = await rejection(
      f.client.createIdentityPool({
        IdentityPoolName: 'bad-tags',
        AllowUnauthenticatedIdentities: false,
        IdentityPoolTags: { owner: 'a<b' },
      }),
    );
    assert.equal(atCreate.name, 'InvalidParameterException');
    await f.client.untagResource({ ResourceArn: arn, TagKeys: ['équipe A_1.x:y/z=+-@'] });
    const otherArn = `arn:aws:cognito-identity:us-east-1:${EMULATOR_ACCOUNT_ID}:identitypool/${MISSING_POOL}`;
    for (const p of [
      f.client.tagResource({ ResourceArn: otherArn, Tags: { a: 'b' } }),
      f.client.untagResource({ ResourceArn: otherArn, TagKeys: ['a'] }),
      f.client.listTagsForResource({ ResourceArn: otherArn }),
    ]) {
      assert.equal((await rejection(p)).name, 'ResourceNotFoundException');
    }
    const shortArn = await rejection(f.client.listTagsForResource({ ResourceArn: 'arn:short' }));
    assert.equal(shortArn.name, 'ValidationException');
  });

  void it('stores principal tag attribute maps per provider', async () => {
    const id = (await f.client.createIdentityPool({ IdentityPoolName: 'ptags', AllowUnauthenticatedIdentities: false }))
      .IdentityPoolId!;
    const empty = await f.client.getPrincipalTagAttributeMap({
      IdentityPoolId: id,
      IdentityProviderName: 'graph.facebook.com',
    });
    assert.equal(empty.UseDefaults, false);
    assert.deepEqual(empty.PrincipalTags, {});
    const set = await f.client.setPrincipalTagAttributeMap({
      IdentityPoolId: id,
      IdentityProviderName: 'graph.facebook.com',
      UseDefaults: false,
      PrincipalTags: { user: 'sub' },
    });
    assert.deepEqual(set.PrincipalTags, { user: 'sub' });
    const got = await f.client.getPrincipalTagAttributeMap({
      IdentityPoolId: id,
      IdentityProviderName: 'graph.facebook.com',
    });
    assert.deepEqual(got.PrincipalTags, { user: 'sub' });
    assert.equal(got.IdentityPoolId, id);
    assert.equal(
      (
        await rejection(
          f.client.getPrincipalTagAttributeMap({ IdentityPoolId: MISSING_POOL, IdentityProviderName: 'x' }),
        )
      ).name,
      'ResourceNotFoundException',
    );
    assert.equal(
      (
        await rejection(
          f.client.setPrincipalTagAttributeMap({
            IdentityPoolId: MISSING_POOL,
            IdentityProviderName: 'x',
            UseDefaults: true,
          }),
        )
      ).name,
      'ResourceNotFoundException',
    );
    const bigMap = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    const v = await rejection(
      f.client.setPrincipalTagAttributeMap({ IdentityPoolId: id, IdentityProviderName: 'x', PrincipalTags: bigMap }),
    );
    assert.equal(v.name, 'ValidationException');
  });

  void it('returns roles and refuses an unknown pool in GetIdentityPoolRoles', async () => {
    const id = (await f.client.createIdentityPool({ IdentityPoolName: 'roles', AllowUnauthenticatedIdentities: false }))
      .IdentityPoolId!;
    const empty = await f.client.getIdentityPoolRoles({ IdentityPoolId: id });
    assert.deepEqual(empty.Roles, {});
    await f.client.setIdentityPoolRoles({
      IdentityPoolId: id,
      Roles: { authenticated: 'arn:aws:iam::123456789012:role/A' },
    });
    const got = await f.client.getIdentityPoolRoles({ IdentityPoolId: id });
    assert.equal(got.IdentityPoolId, id);
    assert.deepEqual(got.Roles, { authenticated: 'arn:aws:iam::123456789012:role/A' });
    assert.equal(
      (await rejection(f.client.getIdentityPoolRoles({ IdentityPoolId: MISSING_POOL }))).name,
      'ResourceNotFoundException',
    );
  });
});
