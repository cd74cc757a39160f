import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { claimsOf, DEV_PROVIDER, devPool, rejection, setup, type Fixture } from './emulator-fixture.js';

const COGNITO = 'cognito-identity.amazonaws.com';

void describe('emulator: developer-authenticated identities', () => {
  let f: Fixture;
  let poolId: string;
  before(async () => {
    f = await setup();
    poolId = await devPool(f.client, { allowUnauth: true });
  });
  after(async () => {
    await f.stop();
  });

  void it('issues an RS512 token with the service claims, verifiable against the JWKS', async () => {
    const out = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'alice' },
      TokenDuration: 3600,
      PrincipalTags: { team: 'blue' },
    });
    assert.match(out.IdentityId!, /^us-east-1:[0-9a-f-]{36}$/);
    const jwks = (await (await fetch(`${f.emu.endpoint}/.well-known/jwks_uri`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const { payload, protectedHeader } = await jwtVerify(out.Token!, createLocalJWKSet(jwks), {
      issuer: 'https://cognito-identity.amazonaws.com',
      audience: poolId,
      currentDate: new Date(f.clock.now()),
    });
    assert.equal(protectedHeader.alg, 'RS512');
    assert.equal(protectedHeader.typ, 'JWS');
    assert.match(protectedHeader.kid ?? '', /^us-east-1-\d+$/);
    assert.equal(payload.sub, out.IdentityId);
    assert.equal(payload.exp! - payload.iat!, 3600);
    assert.equal(payload.iat, Math.floor(f.clock.now() / 1000));
    const guid = poolId.split(':')[1]!;
    assert.deepEqual(payload.amr, ['authenticated', DEV_PROVIDER, `${DEV_PROVIDER}:us-east-1:${guid}:alice`]);
    assert.deepEqual(payload['https://aws.amazon.com/tags'], { principal_tags: { team: ['blue'] } });
  });

  void it('defaults TokenDuration to 900 s and returns the same identity for the same user', async () => {
    const a = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'bob' },
    });
    const b = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'bob' },
    });
    const c = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'carol' },
    });
    assert.equal(a.IdentityId, b.IdentityId);
    assert.notEqual(a.IdentityId, c.IdentityId);
    const claims = claimsOf(a.Token!);
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
    assert.equal(claims['https://aws.amazon.com/tags'], undefined);
  });

  void it('refuses out-of-range TokenDuration and too many logins with ValidationException', async () => {
    const e1 = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'x' },
        TokenDuration: 86401,
      }),
    );
    assert.equal(e1.name, 'ValidationException');
    assert.equal(
      e1.message,
      "1 validation error detected: Value '86401' at 'tokenDuration' failed to satisfy constraint: Member must have value less than or equal to 86400",
    );
    const logins = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}.example`, 't']));
    const e2 = await rejection(f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: poolId, Logins: logins }));
    assert.equal(e2.name, 'ValidationException');
    assert.match(
      e2.message,
      /at 'logins' failed to satisfy constraint: Member must have length less than or equal to 10$/,
    );
  });

  void it('refuses a wrong or missing developer provider, two developer providers and Cognito tokens', async () => {
    const wrong = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: poolId, Logins: { 'other.app': 'u' } }),
    );
    assert.equal(wrong.name, 'NotAuthorizedException');
    assert.equal(wrong.message, 'This identity pool does not support the specified developer provider.');
    const two = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'u', 'other.app': 'u' },
      }),
    );
    assert.equal(two.name, 'InvalidParameterException');
    const none = await rejection(f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: poolId, Logins: {} }));
    assert.equal(none.name, 'InvalidParameterException');
    const cog = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'u', [COGNITO]: 'x.y.z' },
      }),
    );
    assert.equal(cog.name, 'NotAuthorizedException');
    const missingPool = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000',
        Logins: { [DEV_PROVIDER]: 'u' },
      }),
    );
    assert.equal(missingPool.name, 'ResourceNotFoundException');
    const unknownIdentity = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000',
        Logins: { [DEV_PROVIDER]: 'u' },
      }),
    );
    assert.equal(unknownIdentity.name, 'ResourceNotFoundException');
  });

  void it('upgrades a guest identity by linking with IdentityId', async () => {
    const guest = await f.client.getId({ IdentityPoolId: poolId });
    const before = await f.client.describeIdentity({ IdentityId: guest.IdentityId! });
    assert.deepEqual(before.Logins ?? [], []);
    const out = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      IdentityId: guest.IdentityId!,
      Logins: { [DEV_PROVIDER]: 'dave' },
    });
    assert.equal(out.IdentityId, guest.IdentityId);
    const desc = await f.client.describeIdentity({ IdentityId: guest.IdentityId! });
    assert.deepEqual(desc.Logins, [DEV_PROVIDER]);
    assert.ok(desc.CreationDate instanceof Date);
    const look = await f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId, DeveloperUserIdentifier: 'dave' });
    assert.equal(look.IdentityId, guest.IdentityId);
  });

  void it('throws DeveloperUserAlreadyRegisteredException when the user belongs to another identity', async () => {
    const a = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'erin' },
    });
    const b = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'frank' },
    });
    assert.notEqual(a.IdentityId, b.IdentityId);
    const err = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: b.IdentityId!,
        Logins: { [DEV_PROVIDER]: 'erin' },
      }),
    );
    assert.equal(err.name, 'DeveloperUserAlreadyRegisteredException');
    assert.equal(err.$metadata.httpStatusCode, 400);
  });

  void it('throws ResourceConflictException when a public login is linked to another identity', async () => {
    const fb = f.emu.mintProviderToken('graph.facebook.com', 'fb-123');
    const viaFb = await f.client.getId({ IdentityPoolId: poolId, Logins: { 'graph.facebook.com': fb } });
    const other = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'gina' },
    });
    const err = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: other.IdentityId!,
        Logins: { [DEV_PROVIDER]: 'gina', 'graph.facebook.com': fb },
      }),
    );
    assert.equal(err.name, 'ResourceConflictException');
    // Without IdentityId, the login's identity and the user's identity disagree: a conflict too.
    const err2 = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'gina', 'graph.facebook.com': fb },
      }),
    );
    assert.equal(err2.name, 'ResourceConflictException');
    // A new developer user with that login joins the login's identity.
    const joined = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'hank', 'graph.facebook.com': fb },
    });
    assert.equal(joined.IdentityId, viaFb.IdentityId);
    const desc = await f.client.describeIdentity({ IdentityId: viaFb.IdentityId! });
    assert.deepEqual([...(desc.Logins ?? [])].sort(), ['graph.facebook.com', DEV_PROVIDER]);
  });

  void it('refuses a forged provider token in Logins', async () => {
    const fb = f.emu.mintProviderToken('graph.facebook.com', 'fb-forged');
    const [h, p, s] = fb.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
    const err = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'ivy', 'graph.facebook.com': forged },
      }),
    );
    assert.equal(err.name, 'NotAuthorizedException');
  });

  void it('limits an identity to 20 linked logins', async () => {
    const first = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'many-0' },
    });
    for (let i = 1; i < 20; i++) {
      await f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: `many-${i}-src` },
      });
      await f.client.mergeDeveloperIdentities({
        IdentityPoolId: poolId,
        DeveloperProviderName: DEV_PROVIDER,
        SourceUserIdentifier: `many-${i}-src`,
        DestinationUserIdentifier: 'many-0',
      });
    }
    const look = await f.client.lookupDeveloperIdentity({
      IdentityPoolId: poolId,
      IdentityId: first.IdentityId!,
      MaxResults: 60,
    });
    assert.equal(look.DeveloperUserIdentifierList?.length, 20);
    const err = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: first.IdentityId!,
        Logins: { [DEV_PROVIDER]: 'many-21' },
      }),
    );
    assert.equal(err.name, 'LimitExceededException');
  });
});

void describe('emulator: lookup, merge, unlink, list and delete', () => {
  let f: Fixture;
  let poolId: string;
  before(async () => {
    f = await setup();
    poolId = await devPool(f.client);
  });
  after(async () => {
    await f.stop();
  });

  void it('looks up by user and by identity, pages the user list, and reports the errors', async () => {
    const a = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'u1' },
    });
    for (const u of ['u2', 'u3']) {
      await f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: poolId, Logins: { [DEV_PROVIDER]: u } });
      await f.client.mergeDeveloperIdentities({
        IdentityPoolId: poolId,
        DeveloperProviderName: DEV_PROVIDER,
        SourceUserIdentifier: u,
        DestinationUserIdentifier: 'u1',
      });
    }
    const byUser = await f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId, DeveloperUserIdentifier: 'u3' });
    assert.equal(byUser.IdentityId, a.IdentityId);
    const page1 = await f.client.lookupDeveloperIdentity({
      IdentityPoolId: poolId,
      IdentityId: a.IdentityId!,
      MaxResults: 2,
    });
    assert.deepEqual(page1.DeveloperUserIdentifierList, ['u1', 'u2']);
    assert.ok(page1.NextToken);
    const page2 = await f.client.lookupDeveloperIdentity({
      IdentityPoolId: poolId,
      IdentityId: a.IdentityId!,
      MaxResults: 2,
      NextToken: page1.NextToken,
    });
    assert.deepEqual(page2.DeveloperUserIdentifierList, ['u3']);
    assert.equal(page2.NextToken, undefined);

    assert.equal(
      (await rejection(f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId }))).name,
      'InvalidParameterException',
    );
    assert.equal(
      (await rejection(f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId, DeveloperUserIdentifier: 'nobody' })))
        .name,
      'ResourceNotFoundException',
    );
    const other = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'z9' },
    });
    assert.equal(
      (
        await rejection(
          f.client.lookupDeveloperIdentity({
            IdentityPoolId: poolId,
            IdentityId: other.IdentityId!,
            DeveloperUserIdentifier: 'u1',
          }),
        )
      ).name,
      'ResourceConflictException',
    );
    assert.equal(
      (
        await rejection(
          f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId, IdentityId: a.IdentityId!, NextToken: 'garbage' }),
        )
      ).name,
      'InvalidParameterException',
    );
    const v = await rejection(
      f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId, DeveloperUserIdentifier: 'u1', MaxResults: 0 }),
    );
    assert.equal(v.name, 'ValidationException');
  });

  void it('merges: the source user moves, the source identity is disabled', async () => {
    const dst = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'm-dst' },
    });
    const src = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'm-src' },
    });
    const merged = await f.client.mergeDeveloperIdentities({
      IdentityPoolId: poolId,
      DeveloperProviderName: DEV_PROVIDER,
      SourceUserIdentifier: 'm-src',
      DestinationUserIdentifier: 'm-dst',
    });
    assert.equal(merged.IdentityId, dst.IdentityId);
    const again = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'm-src' },
    });
    assert.equal(again.IdentityId, dst.IdentityId);
    const forbidden = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: src.IdentityId!, Logins: { [COGNITO]: src.Token! } }),
    );
    assert.equal(forbidden.name, 'NotAuthorizedException');
    assert.equal(forbidden.message, `Access to Identity '${src.IdentityId!}' is forbidden.`);
    const relink = await rejection(
      f.client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: src.IdentityId!,
        Logins: { [DEV_PROVIDER]: 'm-new' },
      }),
    );
    assert.equal(relink.name, 'NotAuthorizedException');

    const notFound = await rejection(
      f.client.mergeDeveloperIdentities({
        IdentityPoolId: poolId,
        DeveloperProviderName: DEV_PROVIDER,
        SourceUserIdentifier: 'nobody',
        DestinationUserIdentifier: 'm-dst',
      }),
    );
    assert.equal(notFound.name, 'ResourceNotFoundException');
    const wrongProvider = await rejection(
      f.client.mergeDeveloperIdentities({
        IdentityPoolId: poolId,
        DeveloperProviderName: 'other.app',
        SourceUserIdentifier: 'm-src',
        DestinationUserIdentifier: 'm-dst',
      }),
    );
    assert.equal(wrongProvider.name, 'NotAuthorizedException');
  });

  void it('refuses to merge identities linked to different users of one public provider', async () => {
    const fbA = f.emu.mintProviderToken('graph.facebook.com', 'fb-a');
    const fbB = f.emu.mintProviderToken('graph.facebook.com', 'fb-b');
    await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'c-a', 'graph.facebook.com': fbA },
    });
    await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'c-b', 'graph.facebook.com': fbB },
    });
    const err = await rejection(
      f.client.mergeDeveloperIdentities({
        IdentityPoolId: poolId,
        DeveloperProviderName: DEV_PROVIDER,
        SourceUserIdentifier: 'c-a',
        DestinationUserIdentifier: 'c-b',
      }),
    );
    assert.equal(err.name, 'ResourceConflictException');
  });

  void it('unlinks a developer user; unlinking the last login makes the identity inaccessible', async () => {
    const a = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'ul-1' },
    });
    const b = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'ul-2' },
    });
    const conflict = await rejection(
      f.client.unlinkDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: b.IdentityId!,
        DeveloperProviderName: DEV_PROVIDER,
        DeveloperUserIdentifier: 'ul-1',
      }),
    );
    assert.equal(conflict.name, 'ResourceConflictException');
    const unknownUser = await rejection(
      f.client.unlinkDeveloperIdentity({
        IdentityPoolId: poolId,
        IdentityId: a.IdentityId!,
        DeveloperProviderName: DEV_PROVIDER,
        DeveloperUserIdentifier: 'nobody',
      }),
    );
    assert.equal(unknownUser.name, 'ResourceNotFoundException');
    await f.client.unlinkDeveloperIdentity({
      IdentityPoolId: poolId,
      IdentityId: a.IdentityId!,
      DeveloperProviderName: DEV_PROVIDER,
      DeveloperUserIdentifier: 'ul-1',
    });
    const desc = await f.client.describeIdentity({ IdentityId: a.IdentityId! });
    assert.deepEqual(desc.Logins ?? [], []);
    const denied = await rejection(
      f.client.getCredentialsForIdentity({ IdentityId: a.IdentityId!, Logins: { [COGNITO]: a.Token! } }),
    );
    assert.equal(denied.name, 'NotAuthorizedException');
    assert.equal(denied.message, `Access to Identity '${a.IdentityId!}' is forbidden.`);
    // The user is free again: a new identity.
    const fresh = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'ul-1' },
    });
    assert.notEqual(fresh.IdentityId, a.IdentityId);
    const emptied = await f.client.lookupDeveloperIdentity({ IdentityPoolId: poolId, IdentityId: a.IdentityId! });
    assert.deepEqual(emptied.DeveloperUserIdentifierList, []);
  });

  void it('lists identities with paging and HideDisabled, and deletes identities', async () => {
    const pool2 = (
      await f.client.createIdentityPool({
        IdentityPoolName: 'list',
        AllowUnauthenticatedIdentities: false,
        DeveloperProviderName: 'list.app',
      })
    ).IdentityPoolId!;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool2, Logins: { 'list.app': `l${i}` } }))
          .IdentityId!,
      );
    }
    await f.client.mergeDeveloperIdentities({
      IdentityPoolId: pool2,
      DeveloperProviderName: 'list.app',
      SourceUserIdentifier: 'l1',
      DestinationUserIdentifier: 'l0',
    });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await f.client.listIdentities({
        IdentityPoolId: pool2,
        MaxResults: 2,
        ...(token ? { NextToken: token } : {}),
      });
      assert.equal(page.IdentityPoolId, pool2);
      assert.ok((page.Identities?.length ?? 0) <= 2);
      for (const i of page.Identities ?? []) {
        seen.push(i.IdentityId!);
        assert.ok(i.CreationDate instanceof Date);
      }
      token = page.NextToken;
      pages++;
    } while (token);
    assert.deepEqual(seen, ids);
    assert.equal(pages, 3);
    const visible = await f.client.listIdentities({ IdentityPoolId: pool2, MaxResults: 60, HideDisabled: true });
    assert.deepEqual(
      visible.Identities?.map((i) => i.IdentityId),
      [ids[0], ids[2], ids[3], ids[4]],
    );
    assert.equal(
      (await rejection(f.client.listIdentities({ IdentityPoolId: pool2, MaxResults: 61 }))).name,
      'ValidationException',
    );

    const missing = 'us-east-1:00000000-0000-0000-0000-000000000000';
    const del = await f.client.deleteIdentities({ IdentityIdsToDelete: [ids[3]!, missing] });
    assert.deepEqual(del.UnprocessedIdentityIds, [{ IdentityId: missing, ErrorCode: 'AccessDenied' }]);
    assert.equal(
      (await rejection(f.client.describeIdentity({ IdentityId: ids[3]! }))).name,
      'ResourceNotFoundException',
    );
    const relogin = await f.client.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: pool2,
      Logins: { 'list.app': 'l3' },
    });
    assert.notEqual(relogin.IdentityId, ids[3]);
    const tooMany = await rejection(
      f.client.deleteIdentities({ IdentityIdsToDelete: Array.from({ length: 61 }, () => missing) }),
    );
    assert.equal(tooMany.name, 'ValidationException');
    assert.match(
      tooMany.message,
      /at 'identityIdsToDelete' failed to satisfy constraint: Member must have length less than or equal to 60$/,
    );
    const none = await rejection(f.client.deleteIdentities({ IdentityIdsToDelete: [] }));
    assert.equal(none.name, 'ValidationException');
  });

  void it('describes an unknown identity as ResourceNotFoundException', async () => {
    const err = await rejection(
      f.client.describeIdentity({ IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000001' }),
    );
    assert.equal(err.name, 'ResourceNotFoundException');
    const bad = await rejection(f.client.describeIdentity({ IdentityId: 'not-an-id' }));
    assert.equal(bad.name, 'ValidationException');
    assert.equal(
      bad.message,
      "1 validation error detected: Value 'not-an-id' at 'identityId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
    );
  });
});
