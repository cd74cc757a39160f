import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretLedger } from '../../helpers/secret-ledger.js';
import { pino } from 'pino';
import { isBrokerError, redactPaths } from '../../../src/index.js';
import { readJwtTimes } from '../../../src/broker/jwt.js';
import { fakeJwt, sdkError } from '../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf, settle } from '../../helpers/broker-fixture.js';

const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';
const SKEW_MSG = 'clock skew exceeds grace: local clock differs from Cognito by more than skewGraceSeconds';

void describe('broker logging and clock skew', () => {
  void it('logs through a cognito-broker child with cache and duration fields', async () => {
    const { broker, logs } = brokerFixture();
    await broker.getToken('alice');
    await broker.getToken('alice');
    const served = logs.withMsg('token served');
    assert.deepEqual(
      served.map((l) => l.cache),
      ['miss', 'hit'],
    );
    assert.ok(served.every((l) => l.component === 'cognito-broker' && typeof l.durationMs === 'number'));
    const call = logs.withMsg('cognito call');
    assert.equal(call.length, 1);
    assert.equal(call[0]!.operation, TOKEN);
  });

  void it('warns once when Cognito’s clock is off by more than the grace', async () => {
    const { broker, fake, logs } = brokerFixture();
    fake.serverOffsetMs = 6 * 60_000;
    await broker.getToken('alice');
    await broker.getToken('bob');
    const warnings = logs.withMsg(SKEW_MSG);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.offsetSeconds, 360);
    assert.equal(warnings[0]!.level, 40);
  });

  void it('does not warn about an offset within the grace', async () => {
    const { broker, fake, logs } = brokerFixture();
    fake.serverOffsetMs = -4 * 60_000;
    await broker.getToken('alice');
    assert.equal(logs.withMsg(SKEW_MSG).length, 0);
  });

  for (const offsetMinutes of [-6, -4, 4, 6]) {
    void it(`never hands out a token or credentials Cognito considers expired (Cognito ${offsetMinutes} min off)`, async () => {
      const { broker, fake, clock } = brokerFixture();
      fake.serverOffsetMs = offsetMinutes * 60_000;
      // Walk 3 hours in 10 s steps; every token must be valid at Cognito when handed out, and
      // GetCredentialsForIdentity (which checks exp against Cognito's clock) must never refuse it.
      for (let step = 0; step < 3 * 360; step += 1) {
        const t = await broker.getToken('alice');
        const { exp } = readJwtTimes(t.token);
        assert.ok(exp !== undefined && exp * 1000 > fake.serverNow(), `token valid at step ${step}`);
        const c = await broker.getCredentials('alice');
        assert.ok(c.expiration > fake.serverNow(), `credentials valid at step ${step}`);
        clock.advance(10_000);
        await settle(1);
      }
      assert.equal(broker.stats().upstreamErrors[CREDS] ?? 0, 0);
    });
  }

  void it('never writes a token, secret key, session token, provider token or Logins map', async () => {
    const { broker, fake, logs } = brokerFixture({ timeoutMs: 20 });
    const providerToken = 'PROVIDER-TOKEN-SECRET-123';
    await broker.getCredentials('alice');
    await broker.linkLogin('alice', 'graph.facebook.com', providerToken);
    await broker.unlinkLogin('alice', 'graph.facebook.com');
    await broker.getGuestCredentials();
    // Failures whose SDK messages quote the secret values.
    const token = (await broker.getToken('alice')).token;
    fake.failNext(TOKEN, sdkError('NotAuthorizedException', `Invalid login token ${providerToken}`));
    await rejectionOf(broker.linkLogin('alice', 'graph.facebook.com', providerToken));
    fake.failNext(
      'UnlinkIdentity',
      sdkError('ValidationException', `1 validation error detected: Value '${token}' at 'logins' failed`),
    );
    await rejectionOf(broker.unlinkLogin('alice', 'graph.facebook.com'));
    fake.failNext(TOKEN, sdkError('ResourceNotFoundException', `IdentityPool not found ${providerToken}`));
    broker.forgetUser('alice');
    const err = await rejectionOf(broker.getToken('alice'));
    assert.ok(isBrokerError(err));
    assert.ok(!err.message.includes(providerToken));
    fake.hang(CREDS);
    broker.forgetUser('alice');
    await rejectionOf(broker.getCredentials('alice'));
    const secrets = new SecretLedger();
    secrets.add(...fake.secrets, providerToken);
    assert.ok(secrets.size > 5);
    secrets.assertNoLeak(logs.text());
    assert.ok(!logs.raw.join('').includes('"Logins"'));
    assert.ok(logs.lines().length > 10, 'the scenario did log');
  });

  void it('scrubs quoted values from the cause, so logging the error with pino’s err serializer is safe', async () => {
    const { broker, fake } = brokerFixture();
    const token = (await broker.getToken('alice')).token;
    fake.failNext(
      'UnlinkIdentity',
      sdkError(
        'ValidationException',
        `1 validation error detected: Value '{cognito-identity.amazonaws.com=${token}}' at 'logins' failed to satisfy constraint`,
      ),
    );
    const err = await rejectionOf(broker.unlinkLogin('alice', 'graph.facebook.com'));
    assert.ok(isBrokerError(err));
    const lines: string[] = [];
    const app = pino(
      {},
      {
        write: (s: string) => {
          lines.push(s);
        },
      },
    );
    app.error({ err }, 'request failed');
    const text = lines.join('');
    assert.ok(!text.includes(token), 'no token in the serialized error chain');
    assert.match(text, /at 'logins'/, 'the member name stays');
  });

  void it('exports redaction paths that hide tokens, logins and secrets in an app’s own logs', () => {
    const lines: string[] = [];
    const app = pino(
      { redact: [...redactPaths] },
      {
        write(s: string) {
          lines.push(s);
        },
      },
    );
    const jwt = fakeJwt({ exp: 1 });
    app.info(
      { token: jwt, body: { token: jwt }, logins: { x: jwt }, creds: { secretAccessKey: 'SK', sessionToken: 'ST' } },
      'x',
    );
    app.info({ req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1' } } }, 'y');
    const text = lines.join('');
    for (const s of [jwt, 'SK', '"ST"', 'Bearer abc', 'sid=1']) assert.ok(!text.includes(s), s);
  });
});
