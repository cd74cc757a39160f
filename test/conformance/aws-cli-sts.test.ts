/**
 * Conformance: Debian's real AWS CLI v2 (`/usr/bin/aws`) against the emulator's STS: the basic flow
 * with `aws sts assume-role-with-web-identity`, and `aws sts get-caller-identity` signed with the
 * credentials the emulator minted (from both flows), in two regions, with the errors botocore
 * parses out of STS's XML.
 *
 * Skipped (with a message) only when /usr/bin/aws is missing outside CI; in CI it must run.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMULATOR_ACCOUNT_ID, startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';

const AWS = '/usr/bin/aws';
const KEY = { accessKeyId: 'AKIDCONFORMANCE0002', secretAccessKey: 'conformance/secret+key0000000000000000002' };
const PROVIDER = 'login.conformance';
const CLI_TIMEOUT_MS = 60_000;
const AUTH_ROLE = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/CliAuth`;
const UNAUTH_ROLE = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/CliUnauth`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const skipReason =
  !existsSync(AWS) && !process.env.CI
    ? `${AWS} (Debian's AWS CLI v2) is missing: apt-get install -y awscli to run the conformance suite`
    : undefined;

/** A clock the test moves (the emulator's); the CLI signs on the real one. */
class Clock {
  ms = Date.now();
  now(): number {
    return this.ms;
  }
}

/** Runs `/usr/bin/aws --endpoint-url … <service> <args>` with only `keys` in an isolated environment. */
function makeCli(emulator: RunningEmulator, home: string) {
  return (args: readonly string[], keys: Keys = KEY, region = 'us-east-1'): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        AWS,
        ['--endpoint-url', emulator.endpoint, '--region', region, '--output', 'json', ...args],
        {
          timeout: CLI_TIMEOUT_MS,
          env: {
            PATH: '/usr/bin:/bin',
            HOME: home,
            LANG: 'C.UTF-8',
            AWS_ACCESS_KEY_ID: keys.accessKeyId,
            AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
            ...(keys.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: keys.sessionToken }),
            AWS_CONFIG_FILE: join(home, 'no-config'),
            AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
            AWS_PAGER: '',
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_MAX_ATTEMPTS: '1',
            AWS_RETRY_MODE: 'standard',
          },
        },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });
}

function json(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, `aws exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function failed(r: CliResult, code: string, message: string | RegExp): void {
  assert.equal(r.code, 254, `expected exit 254, got ${r.code}: ${r.stderr}`);
  assert.ok(r.stderr.includes(`An error occurred (${code})`), r.stderr);
  if (typeof message === 'string') assert.ok(r.stderr.includes(message), r.stderr);
  else assert.match(r.stderr, message);
}

function keysOf(c: Record<string, unknown>): Keys {
  return {
    accessKeyId: c.AccessKeyId as string,
    secretAccessKey: (c.SecretAccessKey ?? c.SecretKey) as string,
    sessionToken: c.SessionToken as string,
  };
}

async function setup(t: TestContext) {
  const clock = new Clock();
  const emulator = await startEmulator({
    strictSigV4: [KEY],
    clock,
    seed: [
      {
        name: 'cli sts',
        developerProviderName: PROVIDER,
        allowUnauthenticatedIdentities: true,
        allowClassicFlow: true,
        roles: { authenticated: AUTH_ROLE, unauthenticated: UNAUTH_ROLE },
      },
    ],
  });
  const home = mkdtempSync(join(tmpdir(), 'cib-awscli-sts-'));
  t.after(async () => {
    await emulator.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const poolId = emulator.pools[0]?.identityPoolId ?? '';
  return { emulator, clock, poolId, aws: makeCli(emulator, home) };
}

void test(
  'aws sts assume-role-with-web-identity runs the basic flow, and get-caller-identity proves its credentials in two regions',
  { skip: skipReason },
  async (t) => {
    const { aws, poolId } = await setup(t);
    const guest = json(await aws(['cognito-identity', 'get-id', '--identity-pool-id', poolId]));
    const identityId = guest.IdentityId as string;
    const token = json(await aws(['cognito-identity', 'get-open-id-token', '--identity-id', identityId]))
      .Token as string;

    const out = json(
      await aws([
        'sts',
        'assume-role-with-web-identity',
        '--role-arn',
        UNAUTH_ROLE,
        '--role-session-name',
        'cli-session',
        '--web-identity-token',
        token,
        '--duration-seconds',
        '900',
      ]),
    );
    assert.equal(out.SubjectFromWebIdentityToken, identityId);
    assert.equal(out.Audience, poolId);
    assert.equal(out.Provider, 'cognito-identity.amazonaws.com');
    const user = out.AssumedRoleUser as Record<string, string>;
    assert.equal(user.Arn, `arn:aws:sts::${EMULATOR_ACCOUNT_ID}:assumed-role/CliUnauth/cli-session`);
    assert.match(user.AssumedRoleId ?? '', /^AROA[A-Z2-7]{17}:cli-session$/);
    const c = out.Credentials as Record<string, unknown>;
    assert.deepEqual(Object.keys(c).sort(), ['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken']);
    const expiresIn = Date.parse(c.Expiration as string) - Date.now();
    assert.ok(expiresIn > 13 * 60_000 && expiresIn <= 16 * 60_000, `Expiration ${String(c.Expiration)}`);

    for (const region of ['us-east-1', 'eu-central-1']) {
      const me = json(await aws(['sts', 'get-caller-identity'], keysOf(c), region));
      assert.deepEqual(me, { UserId: user.AssumedRoleId, Account: EMULATOR_ACCOUNT_ID, Arn: user.Arn });
    }

    // A guest's token cannot assume the authenticated role (the pool's default trust policy).
    failed(
      await aws([
        'sts',
        'assume-role-with-web-identity',
        '--role-arn',
        AUTH_ROLE,
        '--role-session-name',
        'x1',
        '--web-identity-token',
        token,
      ]),
      'AccessDenied',
      'Not authorized to perform sts:AssumeRoleWithWebIdentity',
    );

    // A session policy: the answer carries its packed size; a malformed one is refused.
    const assumeWith = (policy: string) =>
      aws([
        'sts',
        'assume-role-with-web-identity',
        '--role-arn',
        UNAUTH_ROLE,
        '--role-session-name',
        'scoped',
        '--web-identity-token',
        token,
        '--policy',
        policy,
      ]);
    const scoped = json(
      await assumeWith(
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::public/*' }],
        }),
      ),
    );
    assert.equal(typeof scoped.PackedPolicySize, 'number');
    assert.ok((scoped.PackedPolicySize as number) > 0 && (scoped.PackedPolicySize as number) <= 100);
    failed(await assumeWith('{"Statement": []}'), 'MalformedPolicyDocument', 'Syntax errors in policy.');
  },
);

void test('aws sts get-caller-identity proves the enhanced flow’s credentials', { skip: skipReason }, async (t) => {
  const { aws, poolId } = await setup(t);
  const dev = json(
    await aws([
      'cognito-identity',
      'get-open-id-token-for-developer-identity',
      '--identity-pool-id',
      poolId,
      '--logins',
      `${PROVIDER}=alice`,
    ]),
  );
  const creds = json(
    await aws([
      'cognito-identity',
      'get-credentials-for-identity',
      '--identity-id',
      dev.IdentityId as string,
      '--logins',
      `cognito-identity.amazonaws.com=${dev.Token as string}`,
    ]),
  );
  const keys = keysOf(creds.Credentials as Record<string, unknown>);
  const me = json(await aws(['sts', 'get-caller-identity'], keys, 'eu-central-1'));
  assert.equal(me.Arn, `arn:aws:sts::${EMULATOR_ACCOUNT_ID}:assumed-role/CliAuth/CognitoIdentityCredentials`);
  assert.equal(me.Account, EMULATOR_ACCOUNT_ID);
  assert.match(me.UserId as string, /^AROA[A-Z2-7]{17}:CognitoIdentityCredentials$/);
});

void test(
  'the CLI reads STS’s errors: forged and expired tokens, wrong secret, unknown key, expired credentials',
  { skip: skipReason },
  async (t) => {
    const { aws, poolId, clock } = await setup(t);
    const dev = json(
      await aws([
        'cognito-identity',
        'get-open-id-token-for-developer-identity',
        '--identity-pool-id',
        poolId,
        '--logins',
        `${PROVIDER}=bob`,
      ]),
    );
    const token = dev.Token as string;
    const assume = (webToken: string) =>
      aws([
        'sts',
        'assume-role-with-web-identity',
        '--role-arn',
        AUTH_ROLE,
        '--role-session-name',
        'errs',
        '--web-identity-token',
        webToken,
      ]);

    const [h, p, s] = token.split('.') as [string, string, string];
    failed(await assume(`${h}.${p}.${s.slice(0, -6)}AAAAAA`), 'InvalidIdentityToken', 'Invalid identity token');
    failed(await assume('not-a-jwt'), 'InvalidIdentityToken', 'The ID Token provided is not a valid JWT');

    const out = json(await assume(token));
    const keys = keysOf(out.Credentials as Record<string, unknown>);
    const wrong = {
      ...keys,
      secretAccessKey: `${keys.secretAccessKey.slice(0, -1)}${keys.secretAccessKey.endsWith('A') ? 'B' : 'A'}`,
    };
    const mismatch = await aws(['sts', 'get-caller-identity'], wrong);
    failed(
      mismatch,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
    assert.ok(!mismatch.stderr.includes(keys.sessionToken ?? '-'), 'the session token is not in the error');
    failed(
      await aws(['sts', 'get-caller-identity'], { ...keys, accessKeyId: 'ASIAAAAAAAAAAAAAAAAA' }),
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    );
    failed(
      await aws(['sts', 'get-caller-identity'], KEY),
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    );

    // The emulator's clock passes the token's and the credentials' expiry.
    clock.ms += 3600 * 1000;
    failed(
      await assume(token),
      'ExpiredTokenException',
      /Token expired: current date\/time \d+ must be before the expiration date\/time \d+/,
    );
    failed(
      await aws(['sts', 'get-caller-identity'], keys),
      'ExpiredToken',
      'The security token included in the request is expired',
    );
  },
);
