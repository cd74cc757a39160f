// examples/express-app/config.ts in fleet mode: REDIS_URL (one node) or REDIS_CLUSTER_NODES (a Redis
// Cluster) switches it on, and it refuses to start without the settings every instance must share,
// naming the variable and never printing a secret.
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
    redis: { mode: 'single', url: 'redis://127.0.0.1:6379' },
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
  assert.deepEqual(config.fleet!.redis, { mode: 'single', url: 'rediss://app:hunter2hunter2@redis.internal:6380/2' });
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
  assert.match(
    refusal({ CACHE_ENCRYPTION_KEYS: `k1:${K1}` }),
    /CACHE_ENCRYPTION_KEYS is set but neither REDIS_URL nor REDIS_CLUSTER_NODES is/,
  );
  assert.match(
    refusal({ CACHE_ENCRYPTION_KEY_ID: 'k1' }),
    /CACHE_ENCRYPTION_KEY_ID is set but neither REDIS_URL nor REDIS_CLUSTER_NODES is/,
  );
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

/** {@link FLEET} on a cluster: REDIS_CLUSTER_NODES instead of REDIS_URL. */
function onCluster(nodes: string, ...dropped: string[]): Record<string, string> {
  return { ...without('REDIS_URL', ...dropped), REDIS_CLUSTER_NODES: nodes };
}

void test('REDIS_CLUSTER_NODES with the same shared settings is fleet mode on a cluster', () => {
  const config = readConfig(onCluster(' redis://127.0.0.1:7000, redis://127.0.0.1:7001,redis://[::1]:7002'));
  assert.deepEqual(config.fleet, {
    redis: { mode: 'cluster', seeds: ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001', 'redis://[::1]:7002'] },
    redisUrlShown: 'redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://[::1]:7002',
    encryptionKeys: { k1: K1 },
    currentKeyId: undefined,
  });
  assert.deepEqual(readConfig(onCluster('redis://10.0.0.5')).fleet!.redis, {
    mode: 'cluster',
    seeds: ['redis://10.0.0.5'],
  });
});

void test('REDIS_CLUSTER_NODES: TLS and credentials, shown with the passwords masked', () => {
  const nodes = 'rediss://app:hunter2hunter2@node-1.internal:6379,rediss://app:hunter2hunter2@node-2.internal:6379/0';
  const config = readConfig(onCluster(nodes));
  assert.equal(config.fleet!.redis.mode, 'cluster');
  assert.equal(
    config.fleet!.redisUrlShown,
    'rediss://app:***@node-1.internal:6379,rediss://app:***@node-2.internal:6379/0',
  );
});

void test('REDIS_URL and REDIS_CLUSTER_NODES together: one Redis for the fleet, a clear refusal', () => {
  const line = refusal({ ...FLEET, REDIS_CLUSTER_NODES: 'redis://:hunter2hunter2@127.0.0.1:7000' });
  assert.match(
    line,
    /^cannot start the example app: REDIS_URL and REDIS_CLUSTER_NODES are both set: the fleet uses one Redis, a single node \(REDIS_URL\) or a cluster \(REDIS_CLUSTER_NODES\)\. Unset one of them$/,
  );
});

void test('refuses REDIS_CLUSTER_NODES entries that are no seed URL, by position, never repeating them', () => {
  const cases: [string, RegExp][] = [
    ['127.0.0.1:7000', /REDIS_CLUSTER_NODES entry 1 is not a redis:\/\/ or rediss:\/\/ URL of a cluster node/],
    ['redis://127.0.0.1:7000,http://:hunter2hunter2@h:7001', /entry 2 is not a redis:\/\/ or rediss:\/\/ URL/],
    ['redis://:hunter2hunter2@', /entry 1 is not a redis/],
    ['redis://127.0.0.1:7000/1', /entry 1 is not a redis.*no database: a cluster has only database 0/],
    ['redis://127.0.0.1:7000?hunter2hunter2', /entry 1 is not a redis/],
    ['redis://127.0.0.1:7000,', /REDIS_CLUSTER_NODES entry 2 is empty/],
    ['redis://127.0.0.1:7000,,redis://127.0.0.1:7001', /REDIS_CLUSTER_NODES entry 2 is empty/],
    [' , ', /REDIS_CLUSTER_NODES entry 1 is empty/],
    [Array.from({ length: 65 }, (_, i) => `redis://h:${7000 + i}`).join(','), /65 entries; at most 64/],
  ];
  for (const [value, message] of cases) {
    const line = refusal(onCluster(value));
    assert.match(line, message);
    if (value.trim().length > 3) assert.ok(!line.includes(value.trim()), line);
    assert.match(line, /Give REDIS_CLUSTER_NODES=redis:\/\/host1:6379,redis:\/\/host2:6379/);
  }
});

void test('refuses a node named twice in REDIS_CLUSTER_NODES (the default port counts)', () => {
  assert.match(
    refusal(onCluster('redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7000')),
    /REDIS_CLUSTER_NODES names 127\.0\.0\.1:7000 twice/,
  );
  assert.match(refusal(onCluster('redis://h,redis://h:6379')), /REDIS_CLUSTER_NODES names h:6379 twice/);
  const line = refusal(onCluster('redis://:hunter2hunter2@h:1,redis://:hunter2hunter2@h:1'));
  assert.match(line, /names h:1 twice/);
});

void test('refuses seeds that differ in TLS or credentials: every node of a cluster gets the same', () => {
  assert.match(
    refusal(onCluster('rediss://h1:7000,redis://h2:7000')),
    /entry 2 is redis:\/\/ but entry 1 is rediss:\/\/: the nodes of a cluster all take TLS \(rediss:\/\/\) or none do/,
  );
  for (const nodes of [
    'redis://:hunter2hunter2@h1:7000,redis://h2:7000',
    'redis://app:hunter2hunter2@h1:7000,redis://other:hunter2hunter2@h2:7000',
    'redis://:hunter2hunter2@h1:7000,redis://:hunter3hunter3@h2:7000',
  ]) {
    assert.match(
      refusal(onCluster(nodes)),
      /REDIS_CLUSTER_NODES entry 2 has another user or password than entry 1: every node of the cluster gets the same credentials/,
    );
  }
});

void test('on a cluster, the same SESSION_SECRET, CACHE_ENCRYPTION_KEYS and Cognito rules as REDIS_URL', () => {
  const nodes = 'redis://127.0.0.1:7000';
  assert.match(
    refusal(onCluster(nodes, 'SESSION_SECRET')),
    /^cannot start the example app: REDIS_CLUSTER_NODES is set \(fleet mode\) but SESSION_SECRET is not: every instance must sign session cookies with the same secret\. .*npm run start:fleet/,
  );
  assert.match(
    refusal(onCluster(nodes, 'CACHE_ENCRYPTION_KEYS')),
    /REDIS_CLUSTER_NODES is set \(fleet mode\) but CACHE_ENCRYPTION_KEYS is not/,
  );
  assert.match(
    refusal(onCluster(nodes, 'COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER')),
    /REDIS_CLUSTER_NODES is set \(fleet mode\) but COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not/,
  );
  assert.match(
    refusal(onCluster(nodes, 'SESSION_SECRET', 'CACHE_ENCRYPTION_KEYS')),
    /REDIS_CLUSTER_NODES is set \(fleet mode\) but SESSION_SECRET and CACHE_ENCRYPTION_KEYS are not/,
  );
  assert.match(
    refusal({ ...onCluster(nodes), CACHE_ENCRYPTION_KEYS: `k1:${K1},k2:${K2}` }),
    /CACHE_ENCRYPTION_KEYS holds 2 keys \(k1, k2\) but CACHE_ENCRYPTION_KEY_ID is not set/,
  );
  assert.match(refusal({ ...onCluster(nodes), SESSION_SECRET: 'short' }), /SESSION_SECRET is 5 characters long/);
});
