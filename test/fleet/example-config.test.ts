// examples/express-app/config.ts in fleet mode: REDIS_URL switches it on, and it refuses to start
// without the settings every instance must share, naming the variable and never printing a secret.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { readConfig, StartupError } from '../../examples/express-app/config.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const SECRET = 'a-shared-session-secret-of-the-fleet';
const FLEET: Record<string, string> = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  SESSION_SECRET: SECRET,
  CACHE_ENCRYPTION_KEYS: `k1:${K1}`,
  COGNITO_IDENTITY_POOL_ID: 'us-east-1:0f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b',
  COGNITO_DEVELOPER_PROVIDER: 'login.demo.app',
};

/** {@link FLEET} without these variables. */
function without(...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(FLEET).filter(([name]) => !names.includes(name)));
}

function refusal(env: Record<string, string>): string {
  try {
    readConfig(env);
  } catch (err) {
    assert.ok(err instanceof StartupError, String(err));
    assert.equal(err.exitCode, 2);
    const line = err.line();
    for (const secret of [K1, K2, SECRET, 'hunter2hunter2']) assert.ok(!line.includes(secret), `secret in: ${line}`);
    return line;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

void test('REDIS_URL with a shared secret, keys and one Cognito is fleet mode', () => {
  const config = readConfig(FLEET);
  assert.deepEqual(config.fleet, {
    redisUrl: 'redis://127.0.0.1:6379',
    redisUrlShown: 'redis://127.0.0.1:6379',
    encryptionKeys: { k1: K1 },
    currentKeyId: undefined,
  });
  assert.equal(config.sessionSecret, SECRET);
});

void test('no REDIS_URL is no fleet mode, and SESSION_SECRET stays optional there', () => {
  assert.equal(readConfig({}).fleet, undefined);
  assert.equal(readConfig({}).sessionSecret, undefined);
});

void test('fleet mode refuses to start without SESSION_SECRET, saying the instances share it', () => {
  const env = without('SESSION_SECRET');
  assert.match(
    refusal(env),
    /REDIS_URL is set \(fleet mode\) but SESSION_SECRET is not: every instance must sign session cookies with the same secret\. .*npm run start:fleet/,
  );
});

void test('fleet mode refuses to start without CACHE_ENCRYPTION_KEYS: no key is ever made up', () => {
  const env = without('CACHE_ENCRYPTION_KEYS');
  assert.match(refusal(env), /REDIS_URL is set \(fleet mode\) but CACHE_ENCRYPTION_KEYS is not/);
});

void test('fleet mode refuses the embedded emulator: every instance needs the same Cognito', () => {
  const env = without('COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER');
  assert.match(
    refusal(env),
    /COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: every instance needs the same Cognito/,
  );
});

void test('fleet mode names every missing variable at once, not one per start', () => {
  assert.match(
    refusal(
      without('SESSION_SECRET', 'CACHE_ENCRYPTION_KEYS', 'COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER'),
    ),
    /REDIS_URL is set \(fleet mode\) but SESSION_SECRET, CACHE_ENCRYPTION_KEYS, COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: /,
  );
  assert.match(
    refusal(without('SESSION_SECRET', 'CACHE_ENCRYPTION_KEYS')),
    /but SESSION_SECRET and CACHE_ENCRYPTION_KEYS are not: .*npm run start:fleet/,
  );
  assert.match(
    refusal(without('CACHE_ENCRYPTION_KEYS', 'COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER')),
    /but CACHE_ENCRYPTION_KEYS, COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: /,
  );
});

void test('refuses a REDIS_URL that is no redis URL without repeating it (it may hold a password)', () => {
  for (const bad of [
    'http://127.0.0.1:6379',
    '127.0.0.1:6379',
    'redis://:hunter2hunter2@',
    'redis://h/db?x=1',
    'redis://h/123',
  ]) {
    const line = refusal({ ...FLEET, REDIS_URL: bad });
    assert.match(line, /^cannot start the example app: REDIS_URL is not a redis:\/\/ or rediss:\/\/ URL \(/);
    assert.ok(!line.includes(`REDIS_URL=${JSON.stringify(bad)}`), line);
  }
});

void test("shows REDIS_URL's password masked, and accepts TLS and a database number", () => {
  const config = readConfig({ ...FLEET, REDIS_URL: 'rediss://app:hunter2hunter2@redis.internal:6380/2' });
  assert.equal(config.fleet!.redisUrl, 'rediss://app:hunter2hunter2@redis.internal:6380/2');
  assert.equal(config.fleet!.redisUrlShown, 'rediss://app:***@redis.internal:6380/2');
});

void test('reads several keys with CACHE_ENCRYPTION_KEY_ID naming the current one (rotation)', () => {
  const config = readConfig({ ...FLEET, CACHE_ENCRYPTION_KEYS: `k1:${K1}, k2:${K2}`, CACHE_ENCRYPTION_KEY_ID: 'k2' });
  assert.deepEqual(config.fleet!.encryptionKeys, { k1: K1, k2: K2 });
  assert.equal(config.fleet!.currentKeyId, 'k2');
});

void test('refuses bad CACHE_ENCRYPTION_KEYS naming the entry, never the key', () => {
  const cases: [string, RegExp][] = [
    [K1, /CACHE_ENCRYPTION_KEYS entry 1 does not start with a key id/],
    [`k1:${K1},${K2}`, /CACHE_ENCRYPTION_KEYS entry 2 does not start with a key id/],
    [`k.1:${K1}`, /entry 1 does not start with a key id/],
    [`k1:${K1},k1:${K2}`, /CACHE_ENCRYPTION_KEYS names key id "k1" twice/],
    [`k1:${randomBytes(16).toString('base64')}`, /CACHE_ENCRYPTION_KEYS key "k1" is not base64 of 32 bytes/],
    [`k1:${randomBytes(32).toString('hex')}`, /key "k1" is not base64 of 32 bytes/],
    ['k1:hunter2hunter2', /key "k1" is not base64 of 32 bytes/],
  ];
  for (const [value, message] of cases) {
    const line = refusal({ ...FLEET, CACHE_ENCRYPTION_KEYS: value });
    assert.match(line, message);
    assert.ok(!line.includes(value.split(':').pop() ?? ''), line);
  }
});

void test('refuses several keys without CACHE_ENCRYPTION_KEY_ID, and a key id that is not among them', () => {
  assert.match(
    refusal({ ...FLEET, CACHE_ENCRYPTION_KEYS: `k1:${K1},k2:${K2}` }),
    /CACHE_ENCRYPTION_KEYS holds 2 keys \(k1, k2\) but CACHE_ENCRYPTION_KEY_ID is not set/,
  );
  assert.match(
    refusal({ ...FLEET, CACHE_ENCRYPTION_KEY_ID: 'k9' }),
    /CACHE_ENCRYPTION_KEY_ID="k9" is not a key id of CACHE_ENCRYPTION_KEYS \(k1\)/,
  );
});

void test('refuses fleet keys without REDIS_URL instead of ignoring them', () => {
  assert.match(refusal({ CACHE_ENCRYPTION_KEYS: `k1:${K1}` }), /CACHE_ENCRYPTION_KEYS is set but REDIS_URL is not/);
  assert.match(refusal({ CACHE_ENCRYPTION_KEY_ID: 'k1' }), /CACHE_ENCRYPTION_KEY_ID is set but REDIS_URL is not/);
});

void test('reads AWS_ENDPOINT_URL_COGNITO_IDENTITY with the real-Cognito settings only', () => {
  const cognito = { COGNITO_IDENTITY_POOL_ID: FLEET.COGNITO_IDENTITY_POOL_ID!, COGNITO_DEVELOPER_PROVIDER: 'd' };
  assert.equal(
    readConfig({ ...cognito, AWS_ENDPOINT_URL_COGNITO_IDENTITY: 'http://127.0.0.1:4566' }).cognitoEndpoint,
    'http://127.0.0.1:4566',
  );
  assert.match(
    refusal({ AWS_ENDPOINT_URL_COGNITO_IDENTITY: 'http://127.0.0.1:4566' }),
    /AWS_ENDPOINT_URL_COGNITO_IDENTITY is set but COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: the embedded emulator would ignore it/,
  );
  for (const bad of ['127.0.0.1:4566', 'ftp://h', 'http://u:p@h', 'http://h/?x=1']) {
    assert.match(
      refusal({ ...cognito, AWS_ENDPOINT_URL_COGNITO_IDENTITY: bad }),
      /AWS_ENDPOINT_URL_COGNITO_IDENTITY=".*" is not an http\(s\) URL/,
    );
  }
});
