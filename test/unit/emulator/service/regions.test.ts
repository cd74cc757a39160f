import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegionalServices } from '../../../../src/emulator/service/regions.js';

const now = (): number => 1_700_000_000_000;

void test('creates a region once on first use, however many calls ask at once', async () => {
  let changes = 0;
  const regions = await RegionalServices.create(
    {
      now,
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
  const regions = await RegionalServices.create({ now, onChange: () => undefined, maxRegions: 2 }, 'us-east-1');
  await assert.rejects(regions.ensure('nowhere'), RangeError);
  await regions.ensure('eu-west-1');
  await assert.rejects(regions.ensure('ap-south-1'), /at most 2 regions/);
  assert.equal(regions.all().length, 2);
});

void test('a snapshot restores every region with its keys and pools', async () => {
  const regions = await RegionalServices.create({ now, onChange: () => undefined }, 'us-east-1');
  const eu = await regions.ensure('eu-west-1');
  const pool = eu.handlers.CreateIdentityPool({ IdentityPoolName: 'eu', AllowUnauthenticatedIdentities: true });
  const saved = JSON.parse(JSON.stringify(regions.snapshot())) as ReturnType<RegionalServices['snapshot']>;
  assert.equal(saved.providerRegion, 'us-east-1');
  const back = await RegionalServices.create({ now, onChange: () => undefined }, 'ap-south-1', saved);
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
    RegionalServices.create({ now, onChange: () => undefined }, 'us-east-1', {
      providerRegion: 'us-east-1',
      regions: { 'eu-west-1': saved.regions['us-east-1']! },
    }),
    /holds the keys of us-east-1/,
  );
});
