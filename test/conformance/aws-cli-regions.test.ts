/**
 * Conformance: Debian's real AWS CLI v2 against one emulator in two regions (us-east-1 and
 * eu-central-1), in strict SigV4 mode: each region's signatures verify, pools stay in their region,
 * unsigned calls follow the id they name, tokens carry the region.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { EMULATOR_ACCOUNT_ID } from '../../src/emulator/index.js';
import { empty, failed, json, KEY, PROVIDER, REGION, setup, skipReason } from './aws-cli-fixture.js';

void test('two regions over one emulator through the AWS CLI', { skip: skipReason, timeout: 300_000 }, async (t) => {
  const { emulator, aws } = await setup(t);
  const EU = 'eu-central-1';
  const inRegion = (region: string, args: readonly string[], globalArgs: readonly string[] = []) =>
    aws(args, KEY, globalArgs, region);
  const create = async (region: string, name: string): Promise<string> =>
    json(
      await inRegion(region, [
        'create-identity-pool',
        '--identity-pool-name',
        name,
        '--allow-unauthenticated-identities',
        '--developer-provider-name',
        PROVIDER,
      ]),
    ).IdentityPoolId as string;
  const usPool = await create(REGION, 'virginia');
  const euPool = await create(EU, 'frankfurt');
  assert.match(usPool, /^us-east-1:[0-9a-f-]{36}$/);
  assert.match(euPool, /^eu-central-1:[0-9a-f-]{36}$/);

  // Strict SigV4 verified each region's signing key; each region lists only its own pool.
  assert.deepEqual(json(await inRegion(REGION, ['list-identity-pools', '--max-results', '10'])), {
    IdentityPools: [{ IdentityPoolId: usPool, IdentityPoolName: 'virginia' }],
  });
  assert.deepEqual(json(await inRegion(EU, ['list-identity-pools', '--max-results', '10'])), {
    IdentityPools: [{ IdentityPoolId: euPool, IdentityPoolName: 'frankfurt' }],
  });
  failed(
    await inRegion(REGION, ['describe-identity-pool', '--identity-pool-id', euPool]),
    'ResourceNotFoundException',
    `IdentityPool '${euPool}' not found.`,
  );

  // The developer flow in eu-central-1: the region in the id, the kid, the amr and the pool ARN claim.
  const dev = json(
    await inRegion(EU, [
      'get-open-id-token-for-developer-identity',
      '--identity-pool-id',
      euPool,
      '--logins',
      `${PROVIDER}=alice`,
    ]),
  );
  const identityId = dev.IdentityId as string;
  const token = dev.Token as string;
  assert.match(identityId, /^eu-central-1:/);
  assert.equal(decodeProtectedHeader(token).kid, 'eu-central-1-1');
  const jwks = createRemoteJWKSet(new URL(`${emulator.endpoint}/.well-known/jwks_uri`));
  const { payload } = await jwtVerify(token, jwks, {
    issuer: 'https://cognito-identity.amazonaws.com',
    audience: euPool,
    algorithms: ['RS512'],
  });
  assert.equal(
    payload['https://cognito-identity.amazonaws.com/identity-pool-arn'],
    `arn:aws:cognito-identity:${EU}:${EMULATOR_ACCOUNT_ID}:identitypool/${euPool}`,
  );
  const guid = euPool.split(':')[1] ?? '';
  assert.deepEqual(payload.amr, ['authenticated', PROVIDER, `${PROVIDER}:${EU}:${guid}:alice`]);

  // An unsigned call from a CLI configured for us-east-1 follows the identity to eu-central-1.
  empty(
    await inRegion(EU, [
      'set-identity-pool-roles',
      '--identity-pool-id',
      euPool,
      '--roles',
      `authenticated=arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/EuAuth`,
    ]),
  );
  const creds = json(
    await inRegion(
      REGION,
      [
        'get-credentials-for-identity',
        '--identity-id',
        identityId,
        '--logins',
        `cognito-identity.amazonaws.com=${token}`,
      ],
      ['--no-sign-request'],
    ),
  );
  assert.equal(creds.IdentityId, identityId);
  // A guest of the us-east-1 pool gets a us-east-1 identity and a 10-minute token signed there.
  const guest = json(await inRegion(REGION, ['get-id', '--identity-pool-id', usPool], ['--no-sign-request']));
  const guestId = guest.IdentityId as string;
  assert.match(guestId, /^us-east-1:/);
  const guestToken = json(await inRegion(EU, ['get-open-id-token', '--identity-id', guestId], ['--no-sign-request']))
    .Token as string;
  assert.equal(decodeProtectedHeader(guestToken).kid, 'us-east-1-1');
  const guestClaims = (await jwtVerify(guestToken, jwks, { algorithms: ['RS512'] })).payload;
  assert.equal((guestClaims.exp ?? 0) - (guestClaims.iat ?? 0), 600);
});
