import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegionalServices } from '../../../../src/emulator/service/regions.js';
import { CredentialIssuer } from '../../../../src/emulator/session-token.js';

const now = (): number => 1_700_000_000_000;
const credentials = new CredentialIssuer();

void test('creates a region once on first use, however many calls ask at once', async () => {
  let changes = 0;
  const regions = await RegionalServices.create(
    {
      now,
      credentials,
      onChange: () => {
        changes++;
      },
    },
    'us-east-1',
  );
  assert.equal(regions.get('eu-central-1'), undefined);
  const [a, b] = await Promise.all([regions.ensure('eu-central-1'), regions.ensure('eu-central-1')]);
  assert.equal(a, b);
  assert.equal(a.region, 'eu-central-1');
  assert.equal(a.state.signer.currentKid, 'eu-central-1-1');
  assert.equal(changes, 1, 'a new region is saved');
  assert.deepEqual(
    regions.jwks().keys.map((k) => (k as { kid: string }).kid),
    ['us-east-1-1', 'eu-central-1-1'],
  );
  // Provider tokens are signed by the first region's keys and verified in every region.
  assert.equal(a.state.providerSigner, regions.providerSigner);
  assert.equal(regions.get('us-east-1')?.state.signer, regions.providerSigner);
});

void test('refuses what is not a region, and regions past the limit', async () => {
  const regions = await RegionalServices.create(
    { now, credentials, onChange: () => undefined, maxRegions: 2 },
    'us-east-1',
  );
  await assert.rejects(regions.ensure('nowhere'), RangeError);
  await regions.ensure('eu-west-1');
  await assert.rejects(regions.ensure('ap-south-1'), /at most 2 regions/);
  assert.equal(regions.all().length, 2);
});

void test('a snapshot restores every region with its keys and pools', async () => {
  const regions = await RegionalServices.create({ now, credentials, onChange: () => undefined }, 'us-east-1');
  const eu = await regions.ensure('eu-west-1');
  const pool = eu.handlers.CreateIdentityPool({ IdentityPoolName: 'eu', AllowUnauthenticatedIdentities: true });
  const saved = JSON.parse(JSON.stringify(regions.snapshot())) as ReturnType<RegionalServices['snapshot']>;
  assert.equal(saved.providerRegion, 'us-east-1');
  const back = await RegionalServices.create({ now, credentials, onChange: () => undefined }, 'ap-south-1', saved);
  assert.equal(back.get('ap-south-1'), undefined, 'a snapshot is restored as it was');
  assert.deepEqual(
    back
      .get('eu-west-1')
      ?.listPools()
      .map((p) => p.id),
    [pool.IdentityPoolId],
  );
  assert.deepEqual(back.jwks(), regions.jwks());
  await assert.rejects(
    RegionalServices.create({ now, credentials, onChange: () => undefined }, 'us-east-1', {
      providerRegion: 'us-east-1',
      regions: { 'eu-west-1': saved.regions['us-east-1']! },
    }),
    /holds the keys of us-east-1/,
  );
});

void test("every region mints with the one credential issuer, verifies any region's token and finds a pool by its id", async () => {
  const regions = await RegionalServices.create({ now, credentials, onChange: () => undefined }, 'us-east-1');
  const eu = await regions.ensure('eu-west-1');
  assert.equal(eu.state.credentials, credentials);
  assert.equal(regions.get('us-east-1')?.state.credentials, credentials);
  const pool = eu.handlers.CreateIdentityPool({
    IdentityPoolName: 'eu',
    AllowUnauthenticatedIdentities: true,
  }).IdentityPoolId;
  assert.equal(regions.ownerOf(pool), eu);
  assert.equal(regions.ownerOf('ap-south-1:00000000-0000-0000-0000-000000000000'), undefined);
  const id = eu.handlers.GetId({ IdentityPoolId: pool }).IdentityId!;
  const Token = eu.handlers.GetOpenIdToken({ IdentityId: id }).Token!;
  const v = regions.verify(Token);
  assert.ok(v.ok);
  assert.equal(v.claims.aud, pool);
  const [h, p] = Token.split('.') as [string, string, string];
  const forged = regions.verify(`${h}.${p}.${Buffer.from('x').toString('base64url')}`);
  assert.deepEqual(forged.ok ? undefined : forged.reason, 'token signature is invalid');
});

void test('restore() rebuilds every region at once from a snapshot (no new keys)', async () => {
  const regions = await RegionalServices.create({ now, credentials, onChange: () => undefined }, 'us-east-1');
  const eu = await regions.ensure('eu-west-1');
  eu.handlers.CreateIdentityPool({ IdentityPoolName: 'eu', AllowUnauthenticatedIdentities: true });
  const saved = JSON.parse(JSON.stringify(regions.snapshot())) as ReturnType<RegionalServices['snapshot']>;
  const back = RegionalServices.restore({ now, credentials, onChange: () => undefined }, saved);
  assert.deepEqual(back.snapshot(), saved);
  assert.equal(back.get('eu-west-1')?.state.credentials, credentials);
});
