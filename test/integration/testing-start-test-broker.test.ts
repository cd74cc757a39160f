// cognito-identity-broker/testing: one call gives a broker on a running emulator with a seeded pool,
// the emulator's faults and counters at hand, and a stop() that stops everything.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isBrokerError } from '../../src/errors.js';
import { startTestBroker } from '../../src/testing/index.js';

void describe('startTestBroker', () => {
  void test('returns a ready broker on a seeded pool: token, credentials, guests, links', async () => {
    const t = await startTestBroker();
    try {
      assert.match(t.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(t.region, 'us-east-1');
      assert.match(t.identityPoolId, /^us-east-1:/);
      assert.equal(t.developerProviderName, 'login.test.app');
      assert.equal(t.emulator.pools[0]?.identityPoolId, t.identityPoolId);
      const credentials = await t.broker.getCredentials('user-1');
      const token = await t.broker.getToken('user-1');
      assert.equal(credentials.identityId, token.identityId);
      const guest = await t.broker.getGuestCredentials();
      assert.notEqual(guest.identityId, token.identityId);
      const linked = await t.broker.linkLogin(
        'user-1',
        'graph.facebook.com',
        t.emulator.mintProviderToken('graph.facebook.com', 'fb-1'),
      );
      assert.ok(linked.logins.includes('graph.facebook.com'));
      assert.ok((t.emulator.counters().GetOpenIdTokenForDeveloperIdentity ?? 0) >= 1);
    } finally {
      await t.stop();
    }
  });

  void test('an injected fault reaches the broker at once (no SDK retries)', async () => {
    const t = await startTestBroker();
    try {
      t.emulator.setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'InternalErrorException', count: 1 });
      t.emulator.resetCounters();
      await assert.rejects(t.broker.getToken('user-1'), (err: unknown) => isBrokerError(err) && err.status >= 500);
      assert.equal(t.emulator.counters().GetOpenIdTokenForDeveloperIdentity, 1);
      const token = await t.broker.getToken('user-1');
      assert.match(token.identityId, /^us-east-1:/);
    } finally {
      await t.stop();
    }
  });

  void test('takes a pool, broker and emulator options', async () => {
    const t = await startTestBroker({
      pool: { name: 'mine', developerProviderName: 'login.mine.app', allowUnauthenticatedIdentities: false },
      broker: { tokenDurationSeconds: 3600 },
      emulator: { region: 'eu-west-1' },
    });
    try {
      assert.match(t.identityPoolId, /^eu-west-1:/);
      assert.equal(t.developerProviderName, 'login.mine.app');
      assert.equal(t.emulator.pools[0]?.identityPoolName, 'mine');
      await assert.rejects(t.broker.getGuestCredentials(), isBrokerError);
    } finally {
      await t.stop();
    }
  });

  void test('stop() stops the emulator and is idempotent', async () => {
    const t = await startTestBroker();
    await Promise.all([t.stop(), t.stop()]);
    await t.stop();
    await assert.rejects(fetch(t.endpoint));
  });

  void test('bad options are a TypeError naming the option, and start nothing', async () => {
    await assert.rejects(startTestBroker(null as never), TypeError);
    await assert.rejects(
      startTestBroker({ pool: { developerProviderName: undefined } }),
      /pool\.developerProviderName/,
    );
    await assert.rejects(startTestBroker({ broker: { tokenDurationSeconds: 5 } }), /tokenDurationSeconds/);
  });
});
