// examples/express-app/config.ts: every variable server.ts reads, checked before anything starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenFailure, readConfig, StartupError } from '../../examples/express-app/config.js';

function refusal(env: Record<string, string>): StartupError {
  try {
    readConfig(env);
  } catch (err) {
    assert.ok(err instanceof StartupError);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

void test('defaults: 127.0.0.1:3000, an emulator on any free port, info logs, guests decided by the backend', () => {
  assert.deepEqual(readConfig({}), {
    host: '127.0.0.1',
    port: 3000,
    cognito: undefined,
    emulatorPort: 0,
    emulatorStateFile: undefined,
    linkProvider: 'graph.facebook.com',
    allowGuests: undefined,
    sessionSecret: undefined,
    logLevel: 'info',
    logFormat: 'dev',
    trustProxy: undefined,
    cognitoEndpoint: undefined,
    fleet: undefined,
  });
});

void test('an empty variable counts as unset', () => {
  assert.deepEqual(readConfig({ PORT: '', HOST: '', LOG_LEVEL: '', EMULATOR_PORT: '' }), readConfig({}));
});

void test('accepts ports 0 to 65535, IP addresses and host names', () => {
  assert.equal(readConfig({ PORT: '0' }).port, 0);
  assert.equal(readConfig({ PORT: '65535' }).port, 65_535);
  assert.equal(readConfig({ EMULATOR_PORT: '4566' }).emulatorPort, 4566);
  for (const host of ['::1', '0.0.0.0', 'localhost', 'app.internal.example'])
    assert.equal(readConfig({ HOST: host }).host, host);
});

void test('refuses every port that is not a plain decimal integer in range, with exit code 2', () => {
  for (const value of ['abc', '-1', '3.5', '0x10', ' 80', '1e3', '65536', '99999999']) {
    const err = refusal({ PORT: value });
    assert.equal(err.exitCode, 2);
    assert.match(err.line(), /^cannot start the example app: PORT=".*" is not a port number .* PORT=3001 npm start$/);
  }
});

void test('refuses host names with spaces, empty labels or leading hyphens', () => {
  for (const host of ['a b', 'a..b', '-a.example', 'a_b.example', 'x'.repeat(64)]) {
    assert.match(refusal({ HOST: host }).message, /^HOST=".*" is neither an IP address nor a host name$/);
  }
});

void test('real Cognito needs a pool id and a developer provider of the service’s shapes', () => {
  assert.deepEqual(
    readConfig({ COGNITO_IDENTITY_POOL_ID: 'eu-west-1:0f0e1d2c-3b4a', COGNITO_DEVELOPER_PROVIDER: 'login.example.app' })
      .cognito,
    { identityPoolId: 'eu-west-1:0f0e1d2c-3b4a', developerProviderName: 'login.example.app' },
  );
  assert.match(refusal({ COGNITO_DEVELOPER_PROVIDER: 'login example' }).message, /COGNITO_DEVELOPER_PROVIDER=/);
  assert.match(refusal({ COGNITO_LINK_PROVIDER: 'cognito-identity.amazonaws.com' }).message, /COGNITO_LINK_PROVIDER=/);
});

void test('quotes a bad value with its control characters escaped and long values cut', () => {
  const message = refusal({ LOG_LEVEL: `x\u001b[2J${'y'.repeat(100)}` }).message;
  assert.ok(!message.includes('\u001b'));
  assert.match(message, /^LOG_LEVEL="x\\u001b\[2Jy+…" is not one of/);
});

void test('maps a port in use to exit code 1 with the free port found, and passes other errors through', () => {
  const inUse = listenFailure(
    Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }),
    'PORT',
    '127.0.0.1',
    3000,
    3002,
  );
  assert.ok(inUse instanceof StartupError);
  assert.equal(inUse.exitCode, 1);
  assert.match(inUse.line(), /port 3000 on 127\.0\.0\.1 is already in use .* PORT=3002 npm start$/);
  const other = new Error('boom');
  assert.equal(listenFailure(other, 'PORT', '127.0.0.1', 3000, 0), other);
});

void test('reads LOG_FORMAT as dev or json and refuses anything else', () => {
  assert.equal(readConfig({ LOG_FORMAT: 'json' }).logFormat, 'json');
  assert.equal(readConfig({ LOG_FORMAT: 'dev' }).logFormat, 'dev');
  assert.equal(readConfig({ LOG_FORMAT: '' }).logFormat, 'dev');
  for (const bad of ['JSON', 'pretty', 'json ']) {
    assert.match(
      refusal({ LOG_FORMAT: bad }).line(),
      /LOG_FORMAT=".*" is neither dev nor json\. Run for example: LOG_FORMAT=json npm start/,
    );
  }
});

void test('reads TRUST_PROXY as a hop count, a boolean or a list of addresses, and refuses anything else', () => {
  assert.equal(readConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
  assert.equal(readConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  assert.equal(readConfig({ TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy, '10.0.0.0/8, ::1');
  for (const bad of ['yes', '10.0.0.0/8/1', 'proxy.example', '1000']) {
    assert.throws(() => readConfig({ TRUST_PROXY: bad }), /TRUST_PROXY=/);
  }
});
