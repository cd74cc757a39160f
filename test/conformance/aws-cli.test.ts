/**
 * Conformance: Debian's real AWS CLI v2 (`/usr/bin/aws`, from `apt-get install awscli`) drives the
 * emulator through the whole developer-authenticated flow with `--endpoint-url`. The emulator runs
 * in strict SigV4 mode, so every developer call also proves that botocore's signatures verify.
 *
 * Not the `aws` on PATH: that may be a v1 shim. Skipped (with a message) only when /usr/bin/aws is
 * missing outside CI; in CI it must run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { EMULATOR_ACCOUNT_ID } from '../../src/emulator/index.js';
import {
  AWS,
  CLI_TIMEOUT_MS,
  empty,
  failed,
  json,
  KEY,
  PROVIDER,
  REGION,
  setup,
  skipReason,
} from './aws-cli-fixture.js';

void test('AWS CLI v2 is Debian’s real v2 binary', { skip: skipReason }, async () => {
  const { stdout: out } = await promisify(execFile)(AWS, ['--version'], {
    timeout: CLI_TIMEOUT_MS,
    env: { PATH: '/usr/bin:/bin', AWS_PAGER: '' },
  });
  assert.match(out, /^aws-cli\/2\./);
});

void test('the developer-authenticated flow through the AWS CLI', { skip: skipReason, timeout: 600_000 }, async (t) => {
  const { emulator, aws } = await setup(t);

  // create-identity-pool
  const pool = json(
    await aws([
      'create-identity-pool',
      '--identity-pool-name',
      'conformance pool',
      '--no-allow-unauthenticated-identities',
      '--developer-provider-name',
      PROVIDER,
      '--identity-pool-tags',
      'team=identity',
    ]),
  );
  const poolId = pool.IdentityPoolId as string;
  assert.match(poolId, /^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepEqual(pool, {
    IdentityPoolId: poolId,
    IdentityPoolName: 'conformance pool',
    AllowUnauthenticatedIdentities: false,
    AllowClassicFlow: false,
    SupportedLoginProviders: {},
    DeveloperProviderName: PROVIDER,
    IdentityPoolTags: { team: 'identity' },
  });

  // A model constraint broken: the service's ValidationException, word for word.
  failed(
    await aws(['describe-identity-pool', '--identity-pool-id', 'us-east-1_abc']),
    'ValidationException',
    "1 validation error detected: Value 'us-east-1_abc' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
  );

  // Before roles are set, credentials cannot be issued; set and read them back.
  const authRole = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/ConformanceAuth`;
  const unauthRole = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/ConformanceUnauth`;
  empty(
    await aws([
      'set-identity-pool-roles',
      '--identity-pool-id',
      poolId,
      '--roles',
      `authenticated=${authRole},unauthenticated=${unauthRole}`,
    ]),
  );
  assert.deepEqual(json(await aws(['get-identity-pool-roles', '--identity-pool-id', poolId])), {
    IdentityPoolId: poolId,
    Roles: { authenticated: authRole, unauthenticated: unauthRole },
  });

  // get-open-id-token-for-developer-identity; the same user gets the same identity.
  const alice = json(
    await aws([
      'get-open-id-token-for-developer-identity',
      '--identity-pool-id',
      poolId,
      '--logins',
      `${PROVIDER}=alice`,
      '--token-duration',
      '600',
    ]),
  );
  const aliceId = alice.IdentityId as string;
  const aliceToken = alice.Token as string;
  assert.match(aliceId, /^us-east-1:[0-9a-f-]{36}$/);
  assert.deepEqual(Object.keys(alice).sort(), ['IdentityId', 'Token']);
  const again = json(
    await aws([
      'get-open-id-token-for-developer-identity',
      '--identity-pool-id',
      poolId,
      '--logins',
      `${PROVIDER}=alice`,
    ]),
  );
  assert.equal(again.IdentityId, aliceId);

  // The token: RS512, kid, verified against the JWKS the emulator serves, with the service's claims.
  assert.deepEqual(decodeProtectedHeader(aliceToken), { kid: `${REGION}-1`, typ: 'JWS', alg: 'RS512' });
  // Found the way an OpenID client finds it: through the discovery document.
  const discovery = (await (await fetch(`${emulator.endpoint}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  assert.equal(discovery.issuer, 'https://cognito-identity.amazonaws.com');
  assert.equal(discovery.jwks_uri, `${emulator.endpoint}/.well-known/jwks_uri`);
  assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS512']);
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload } = await jwtVerify(aliceToken, jwks, {
    issuer: 'https://cognito-identity.amazonaws.com',
    audience: poolId,
    algorithms: ['RS512'],
  });
  assert.equal(payload.sub, aliceId);
  assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 600);
  assert.ok(Math.abs((payload.iat ?? 0) - Date.now() / 1000) < 120);
  const poolGuid = poolId.split(':')[1] ?? '';
  assert.deepEqual(payload.amr, ['authenticated', PROVIDER, `${PROVIDER}:${REGION}:${poolGuid}:alice`]);
  // A token from another key set does not verify against this JWKS.
  const [h, p] = aliceToken.split('.');
  await assert.rejects(jwtVerify(`${h}.${p}.${'A'.repeat(342)}`, jwks, { algorithms: ['RS512'] }));

  // A model range broken on the server side (the CLI does not check maxima itself).
  failed(
    await aws([
      'get-open-id-token-for-developer-identity',
      '--identity-pool-id',
      poolId,
      '--logins',
      `${PROVIDER}=alice`,
      '--token-duration',
      '86401',
    ]),
    'ValidationException',
    "Value '86401' at 'tokenDuration' failed to satisfy constraint: Member must have value less than or equal to 86400",
  );

  // get-credentials-for-identity: unsigned public call with the OpenID token.
  const creds = json(
    await aws([
      'get-credentials-for-identity',
      '--identity-id',
      aliceId,
      '--logins',
      `cognito-identity.amazonaws.com=${aliceToken}`,
    ]),
  );
  assert.equal(creds.IdentityId, aliceId);
  const c = creds.Credentials as Record<string, unknown>;
  assert.deepEqual(Object.keys(c).sort(), ['AccessKeyId', 'Expiration', 'SecretKey', 'SessionToken']);
  assert.match(c.AccessKeyId as string, /^ASIA[A-Z0-9]{16}$/);
  assert.equal((c.SecretKey as string).length, 40);
  assert.ok((c.SessionToken as string).length > 100);
  const expiresIn = Date.parse(c.Expiration as string) - Date.now();
  assert.ok(expiresIn > 55 * 60_000 && expiresIn <= 61 * 60_000, `Expiration ${String(c.Expiration)}`);
  // A token for another identity is refused.
  const bob = json(
    await aws([
      'get-open-id-token-for-developer-identity',
      '--identity-pool-id',
      poolId,
      '--logins',
      `${PROVIDER}=bob`,
    ]),
  );
  const bobId = bob.IdentityId as string;
  assert.notEqual(bobId, aliceId);
  failed(
    await aws([
      'get-credentials-for-identity',
      '--identity-id',
      bobId,
      '--logins',
      `cognito-identity.amazonaws.com=${aliceToken}`,
    ]),
    'NotAuthorizedException',
    /Invalid login token/,
  );

  // lookup-developer-identity, both ways.
  assert.deepEqual(
    json(
      await aws(['lookup-developer-identity', '--identity-pool-id', poolId, '--developer-user-identifier', 'alice']),
    ),
    { IdentityId: aliceId, DeveloperUserIdentifierList: ['alice'] },
  );
  assert.deepEqual(
    json(await aws(['lookup-developer-identity', '--identity-pool-id', poolId, '--identity-id', bobId])),
    { IdentityId: bobId, DeveloperUserIdentifierList: ['bob'] },
  );
  failed(
    await aws(['lookup-developer-identity', '--identity-pool-id', poolId, '--developer-user-identifier', 'nobody']),
    'ResourceNotFoundException',
    /.+/,
  );

  // merge-developer-identities: bob moves onto alice's identity; bob's old identity is disabled.
  assert.deepEqual(
    json(
      await aws([
        'merge-developer-identities',
        '--source-user-identifier',
        'bob',
        '--destination-user-identifier',
        'alice',
        '--developer-provider-name',
        PROVIDER,
        '--identity-pool-id',
        poolId,
      ]),
    ),
    { IdentityId: aliceId },
  );
  const merged = json(await aws(['lookup-developer-identity', '--identity-pool-id', poolId, '--identity-id', aliceId]));
  assert.deepEqual((merged.DeveloperUserIdentifierList as string[]).slice().sort(), ['alice', 'bob']);
  assert.equal(
    json(
      await aws([
        'get-open-id-token-for-developer-identity',
        '--identity-pool-id',
        poolId,
        '--logins',
        `${PROVIDER}=bob`,
      ]),
    ).IdentityId,
    aliceId,
  );
  failed(
    await aws([
      'get-credentials-for-identity',
      '--identity-id',
      bobId,
      '--logins',
      `cognito-identity.amazonaws.com=${bob.Token as string}`,
    ]),
    'NotAuthorizedException',
    `Access to Identity '${bobId}' is forbidden.`,
  );

  // unlink-developer-identity: bob leaves alice's identity again.
  empty(
    await aws([
      'unlink-developer-identity',
      '--identity-id',
      aliceId,
      '--identity-pool-id',
      poolId,
      '--developer-provider-name',
      PROVIDER,
      '--developer-user-identifier',
      'bob',
    ]),
  );
  assert.deepEqual(
    json(await aws(['lookup-developer-identity', '--identity-pool-id', poolId, '--identity-id', aliceId]))
      .DeveloperUserIdentifierList,
    ['alice'],
  );

  // describe-identity: the CLI prints timestamps as ISO 8601.
  const described = json(await aws(['describe-identity', '--identity-id', aliceId]));
  assert.deepEqual(Object.keys(described).sort(), ['CreationDate', 'IdentityId', 'LastModifiedDate', 'Logins']);
  assert.equal(described.IdentityId, aliceId);
  assert.deepEqual(described.Logins, [PROVIDER]);
  const created = Date.parse(described.CreationDate as string);
  assert.ok(Math.abs(created - Date.now()) < 5 * 60_000, String(described.CreationDate));
  assert.ok(Date.parse(described.LastModifiedDate as string) >= created);

  // list-identities, paged with --max-results / --next-token.
  const expected = new Set([aliceId]);
  for (const user of ['carol', 'dave', 'erin', 'frank']) {
    expected.add(
      json(
        await aws([
          'get-open-id-token-for-developer-identity',
          '--identity-pool-id',
          poolId,
          '--logins',
          `${PROVIDER}=${user}`,
        ]),
      ).IdentityId as string,
    );
  }
  const seen: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = json(
      await aws([
        'list-identities',
        '--identity-pool-id',
        poolId,
        '--max-results',
        '2',
        ...(nextToken === undefined ? [] : ['--next-token', nextToken]),
      ]),
    );
    pages++;
    assert.equal(page.IdentityPoolId, poolId);
    const ids = page.Identities as { IdentityId: string; Logins?: string[] }[];
    assert.ok(ids.length <= 2);
    seen.push(...ids.map((i) => i.IdentityId));
    nextToken = page.NextToken as string | undefined;
    assert.ok(pages < 10, 'paging ends');
  } while (nextToken !== undefined);
  assert.equal(new Set(seen).size, seen.length, 'no identity listed twice');
  // Bob's merged-away identity may or may not be listed (it has no logins); every live one is.
  for (const id of expected) assert.ok(seen.includes(id), `${id} listed`);
  assert.ok(pages >= 3);
  failed(
    await aws(['list-identities', '--identity-pool-id', poolId, '--max-results', '61']),
    'ValidationException',
    /maxResults/,
  );

  // delete-identities
  const toDelete = [...expected].filter((id) => id !== aliceId).slice(0, 2);
  assert.deepEqual(json(await aws(['delete-identities', '--identity-ids-to-delete', ...toDelete])), {
    UnprocessedIdentityIds: [],
  });
  for (const id of toDelete)
    failed(await aws(['describe-identity', '--identity-id', id]), 'ResourceNotFoundException', /.+/);

  // tag-resource / list-tags-for-resource / untag-resource on the pool ARN.
  const arn = `arn:aws:cognito-identity:${REGION}:${EMULATOR_ACCOUNT_ID}:identitypool/${poolId}`;
  empty(await aws(['tag-resource', '--resource-arn', arn, '--tags', 'env=test,owner=conformance']));
  assert.deepEqual(json(await aws(['list-tags-for-resource', '--resource-arn', arn])), {
    Tags: { team: 'identity', env: 'test', owner: 'conformance' },
  });
  empty(await aws(['untag-resource', '--resource-arn', arn, '--tag-keys', 'owner']));
  assert.deepEqual(json(await aws(['list-tags-for-resource', '--resource-arn', arn])), {
    Tags: { team: 'identity', env: 'test' },
  });

  // Developer operations need SigV4; the public ones do not.
  failed(
    await aws(['list-identity-pools', '--max-results', '10'], KEY, ['--no-sign-request']),
    'MissingAuthenticationTokenException',
    'Missing Authentication Token',
  );
  assert.equal(
    json(
      await aws(
        [
          'get-credentials-for-identity',
          '--identity-id',
          aliceId,
          '--logins',
          `cognito-identity.amazonaws.com=${aliceToken}`,
        ],
        KEY,
        ['--no-sign-request'],
      ),
    ).IdentityId,
    aliceId,
  );

  // Strict SigV4: a wrong secret and an unknown key are refused as AWS refuses them.
  failed(
    await aws(['list-identity-pools', '--max-results', '10'], { ...KEY, secretAccessKey: 'not-the-secret' }),
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided.',
  );
  failed(
    await aws(['list-identity-pools', '--max-results', '10'], {
      accessKeyId: 'AKIDUNKNOWN',
      secretAccessKey: KEY.secretAccessKey,
    }),
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
  );

  // delete-identity-pool, then the pool is gone.
  assert.deepEqual(json(await aws(['list-identity-pools', '--max-results', '10'])), {
    IdentityPools: [{ IdentityPoolId: poolId, IdentityPoolName: 'conformance pool' }],
  });
  empty(await aws(['delete-identity-pool', '--identity-pool-id', poolId]));
  failed(await aws(['describe-identity-pool', '--identity-pool-id', poolId]), 'ResourceNotFoundException', /.+/);
  assert.deepEqual(json(await aws(['list-identity-pools', '--max-results', '10'])), { IdentityPools: [] });

  const counters = emulator.counters();
  assert.ok((counters.GetOpenIdTokenForDeveloperIdentity ?? 0) >= 8);
  assert.ok((counters.ListIdentities ?? 0) >= 3);
});
