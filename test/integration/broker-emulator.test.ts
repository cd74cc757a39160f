// The broker with the real AWS SDK client against the emulator on 127.0.0.1 (port 0), reading the
// emulator's per-operation call counters.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetCredentialsForIdentityCommand, ListIdentityPoolsCommand } from '@aws-sdk/client-cognito-identity';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createBroker, isBrokerError, type Broker, type BrokerOptions } from '../../src/index.js';
import { logSink } from '../helpers/log-sink.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { SecretLedger } from '../helpers/secret-ledger.js';
import { rejectionOf, settle } from '../helpers/broker-fixture.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';

const DEV = 'login.example.app';
const FB = 'graph.facebook.com';
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

/** One log capture over the whole suite, scanned for secrets after whatever tests ran. */
const suiteLogs = logSink();
/** Every secret the suite saw (tokens, secret keys, session tokens, provider tokens). */
const secrets = new SecretLedger();
secrets.checkAfter(() => suiteLogs.text());
/** Upstream-call counts measured in the concurrency tests, printed for the report. */
const measured: Record<string, Record<string, number>> = {};

interface Fixture {
  readonly emu: RunningEmulator;
  readonly sdk: ReturnType<typeof emulatorClient>;
  readonly poolId: string;
  readonly emuClock: ManualClock;
  broker(options?: Partial<BrokerOptions>): Broker;
  stop(): Promise<void>;
}

/** Whole seconds, so the emulator's `iat` equals the send time exactly. */
function wholeSecondNow(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

async function fixture(sdkOptions: { maxAttempts?: number } = {}): Promise<Fixture> {
  const emuClock = new ManualClock(wholeSecondNow());
  const emu = await startEmulator({
    clock: emuClock,
    seed: [
      {
        name: 'broker-it',
        developerProviderName: DEV,
        allowUnauthenticatedIdentities: true,
        supportedLoginProviders: { [FB]: 'fb-app-1' },
      },
    ],
  });
  const sdk = emulatorClient(emu, { retryMode: 'standard', maxAttempts: sdkOptions.maxAttempts ?? 1 });
  const poolId = emu.pools[0]!.identityPoolId;
  return {
    emu,
    sdk,
    poolId,
    emuClock,
    broker: (options = {}) =>
      createBroker({
        identityPoolId: poolId,
        developerProviderName: DEV,
        client: sdk,
        clock: emuClock,
        logger: suiteLogs.logger,
        ...options,
      }),
    async stop() {
      sdk.destroy();
      await emu.stop();
    },
  };
}

function remember(...values: string[]): void {
  secrets.add(...values);
}

void describe('broker against the emulator', () => {
  after(() => {
    process.stdout.write(`# broker upstream calls measured: ${JSON.stringify(measured)}\n`);
  });

  void it('serves 1,000 concurrent credential requests with 1 token call and 1 credentials call', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const all = await Promise.all(Array.from({ length: 1000 }, () => broker.getCredentials('alice')));
      assert.equal(new Set(all.map((c) => c.accessKeyId)).size, 1);
      const counters = f.emu.counters();
      measured['1000 concurrent getCredentials'] = { [TOKEN]: counters[TOKEN] ?? 0, [CREDS]: counters[CREDS] ?? 0 };
      assert.equal(counters[TOKEN], 1);
      assert.equal(counters[CREDS], 1);
      assert.deepEqual(broker.stats().upstreamCalls, { [TOKEN]: 1, [CREDS]: 1 });
      remember(all[0]!.secretAccessKey, all[0]!.sessionToken, (await broker.getToken('alice')).token);
    } finally {
      await f.stop();
    }
  });

  void it('reuses a token until exp − grace and not a millisecond later', async () => {
    const f = await fixture();
    try {
      const broker = f.broker({ refreshAheadSeconds: 0 });
      const first = await broker.getToken('alice');
      remember(first.token);
      f.emuClock.advance(600_000 - 1);
      assert.equal((await broker.getToken('alice')).token, first.token);
      assert.equal(f.emu.counters()[TOKEN], 1);
      f.emuClock.advance(1);
      const second = await broker.getToken('alice');
      remember(second.token);
      assert.notEqual(second.token, first.token);
      assert.equal(f.emu.counters()[TOKEN], 2);
      assert.equal(second.identityId, first.identityId);
    } finally {
      await f.stop();
    }
  });

  void it('refreshes ahead: requests in the refresh window are served at once, with one refresh', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const first = await broker.getToken('alice');
      f.emuClock.advance(540_001);
      f.emu.setFault(TOKEN, { latencyMs: 300 });
      const during = await Promise.all(Array.from({ length: 200 }, () => broker.getToken('alice')));
      // Had any of them waited for the refresh, it would have the new token.
      assert.ok(during.every((t) => t.token === first.token));
      while (broker.stats().inFlight > 0) await settle(1);
      f.emu.clearFaults();
      const after = await broker.getToken('alice');
      remember(first.token, after.token);
      assert.notEqual(after.token, first.token);
      const counters = f.emu.counters();
      measured['200 requests in the refresh window'] = { [TOKEN]: counters[TOKEN] ?? 0 };
      assert.equal(counters[TOKEN], 2);
      assert.equal(broker.stats().tokens.refreshes, 1);
    } finally {
      await f.stop();
    }
  });

  for (const skewMinutes of [4, -4]) {
    void it(`never yields a token the emulator rejects with a broker clock ${Math.abs(skewMinutes)} min ${skewMinutes > 0 ? 'fast' : 'slow'}`, async () => {
      const f = await fixture();
      try {
        const brokerClock = { now: () => f.emuClock.now() + skewMinutes * 60_000 };
        const broker = f.broker({ clock: brokerClock });
        // Two hours in 20 s steps: every token handed out must pass the emulator's own checks.
        for (let step = 0; step < 360; step += 1) {
          const t = await broker.getToken('alice');
          const c = await broker.getCredentials('alice');
          assert.ok(c.expiration > f.emuClock.now(), `credentials valid at step ${step}`);
          const direct = await f.sdk.send(
            new GetCredentialsForIdentityCommand({ IdentityId: t.identityId, Logins: { [broker.loginsKey]: t.token } }),
          );
          assert.ok(direct.Credentials?.AccessKeyId, `token accepted at step ${step}`);
          if (step % 60 === 0) remember(t.token, c.secretAccessKey, c.sessionToken);
          f.emuClock.advance(20_000);
          await settle(1);
        }
        assert.equal(broker.stats().upstreamErrors[CREDS] ?? 0, 0);
      } finally {
        await f.stop();
      }
    });
  }

  void it('maps injected throttling, after the SDK’s retries, to a retryable error; then recovers', async () => {
    const f = await fixture({ maxAttempts: 3 });
    try {
      const broker = f.broker({ timeoutMs: 20_000 });
      f.emu.setFault(TOKEN, { error: 'TooManyRequestsException' });
      const err = await rejectionOf(broker.getCredentials('alice'));
      assert.ok(isBrokerError(err));
      assert.equal(err.code, 'ERR_COGNITO_THROTTLED');
      assert.equal(err.status, 503);
      assert.equal(err.retryable, true);
      assert.equal(err.retryAfterSeconds, 1);
      assert.equal(f.emu.counters()[TOKEN], 3, 'the SDK retried twice');
      f.emu.clearFaults();
      const c = await broker.getCredentials('alice');
      remember(c.secretAccessKey, c.sessionToken);
      assert.equal(f.emu.counters()[TOKEN], 4, 'nothing was cached from the failure');
    } finally {
      await f.stop();
    }
  });

  void it('times out a slow Cognito with ERR_COGNITO_TIMEOUT', async () => {
    const f = await fixture();
    try {
      const broker = f.broker({ timeoutMs: 50 });
      f.emu.setFault(TOKEN, { latencyMs: 2000 });
      const err = await rejectionOf(broker.getToken('alice'));
      assert.ok(isBrokerError(err) && err.code === 'ERR_COGNITO_TIMEOUT' && err.retryable);
    } finally {
      f.emu.clearFaults();
      await f.stop();
    }
  });

  void it('links a login, refuses the same login for another user (409), and unlinks it', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const fbToken = f.emu.mintProviderToken(FB, 'fb-user-1');
      remember(fbToken);
      const linked = await broker.linkLogin('alice', FB, fbToken);
      assert.ok(linked.logins.includes(FB));
      const conflict = await rejectionOf(broker.linkLogin('bob', FB, fbToken));
      assert.ok(isBrokerError(conflict));
      assert.equal(conflict.code, 'ERR_CONFLICT');
      assert.equal(conflict.status, 409);
      const forged = await rejectionOf(broker.linkLogin('alice', FB, 'not-a-real-token'));
      assert.ok(isBrokerError(forged) && forged.code === 'ERR_PROVIDER_TOKEN_REJECTED' && forged.status === 422);
      const unlinked = await broker.unlinkLogin('alice', FB);
      assert.ok(!unlinked.logins.includes(FB));
      assert.deepEqual((await broker.describeIdentity('alice')).logins, []);
      // Once unlinked from alice, bob may link it.
      assert.ok((await broker.linkLogin('bob', FB, fbToken)).logins.includes(FB));
      const c = await broker.getCredentials('alice');
      remember(c.secretAccessKey, c.sessionToken);
    } finally {
      await f.stop();
    }
  });

  void it('merges a user into another, and the source then resolves to the destination identity', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const alice = await broker.getCredentials('alice');
      const bob = await broker.getCredentials('bob');
      remember(alice.secretAccessKey, bob.secretAccessKey);
      const merged = await broker.mergeUsers('alice', 'bob');
      assert.equal(merged.identityId, alice.identityId);
      const bobNow = await broker.getCredentials('bob');
      assert.equal(bobNow.identityId, alice.identityId);
      assert.deepEqual((await broker.lookupUsers(alice.identityId)).userIds.sort(), ['alice', 'bob']);
      assert.equal(await broker.lookupIdentity('bob'), alice.identityId);
    } finally {
      await f.stop();
    }
  });

  void it('recovers once when another instance merged the user away (disabled identity)', async () => {
    const f = await fixture();
    try {
      const here = f.broker();
      const elsewhere = f.broker();
      const stale = await here.getToken('bob');
      const alice = await elsewhere.getToken('alice');
      await elsewhere.getToken('bob');
      await elsewhere.mergeUsers('alice', 'bob');
      f.emu.resetCounters();
      const c = await here.getCredentials('bob');
      remember(stale.token, alice.token, c.secretAccessKey, c.sessionToken);
      assert.equal(c.identityId, alice.identityId);
      const counters = f.emu.counters();
      assert.equal(counters[CREDS], 2, 'one refused call, one after re-resolving');
      assert.equal(counters[TOKEN], 1);
      assert.equal((await here.getToken('bob')).identityId, alice.identityId);
    } finally {
      await f.stop();
    }
  });

  void it('unlinks the developer user; the user then has no identity until the next token', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const before = await broker.getToken('carol');
      remember(before.token);
      await broker.unlinkDeveloperUser('carol');
      assert.equal(await broker.lookupIdentity('carol'), null);
      const again = await broker.getToken('carol');
      remember(again.token);
      assert.notEqual(again.identityId, before.identityId);
    } finally {
      await f.stop();
    }
  });

  void it('gives a guest credentials and upgrades it at login, keeping the identity id', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const guest = await broker.getGuestCredentials();
      remember(guest.secretAccessKey, guest.sessionToken);
      const t = await broker.upgradeGuest('dave', guest.identityId);
      remember(t.token);
      assert.equal(t.identityId, guest.identityId);
      const c = await broker.getCredentials('dave');
      remember(c.secretAccessKey, c.sessionToken);
      assert.equal(c.identityId, guest.identityId);
      assert.notEqual(c.accessKeyId, guest.accessKeyId);
      // The upgraded identity is no longer a guest: its id alone gets no credentials.
      const err = await rejectionOf(broker.getGuestCredentials(guest.identityId));
      assert.ok(isBrokerError(err) && err.code === 'ERR_FORBIDDEN', String(err));
      // Another user cannot take it over as a "guest".
      const takeover = await rejectionOf(broker.upgradeGuest('mallory', guest.identityId));
      assert.ok(isBrokerError(takeover) && takeover.code === 'ERR_FORBIDDEN');
    } finally {
      await f.stop();
    }
  });

  void it('gives server code an SDK credential provider that acts as the user, from the same cache', async () => {
    const f = await fixture();
    try {
      const broker = f.broker();
      const c = await broker.getCredentials('erin');
      remember(c.secretAccessKey, c.sessionToken);
      const provider = broker.credentialProvider('erin');
      const client = emulatorClient(f.emu, { credentials: provider });
      try {
        for (let i = 0; i < 5; i += 1) {
          const out = await client.send(new ListIdentityPoolsCommand({ MaxResults: 10 }));
          assert.ok((out.IdentityPools ?? []).some((p) => p.IdentityPoolId === f.poolId));
        }
        const resolved = await client.config.credentials();
        assert.equal(resolved.accessKeyId, c.accessKeyId);
        assert.equal(f.emu.counters()[CREDS], 1, 'the provider is served from the broker cache');
      } finally {
        client.destroy();
      }
    } finally {
      await f.stop();
    }
  });

  void it('reports a wrong developer provider name as a misconfiguration, loudly', async () => {
    const f = await fixture();
    try {
      const logs = logSink();
      const broker = createBroker({
        identityPoolId: f.poolId,
        developerProviderName: 'wrong.provider',
        client: f.sdk,
        clock: f.emuClock,
        logger: logs.logger,
      });
      const err = await rejectionOf(broker.getToken('alice'));
      assert.ok(isBrokerError(err) && err.code === 'ERR_MISCONFIGURED' && err.status === 500);
      assert.equal(logs.lines().filter((l) => l.level === 50).length, 1);
      const unknownPool = createBroker({
        identityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000',
        developerProviderName: DEV,
        client: f.sdk,
        clock: f.emuClock,
        logger: logs.logger,
      });
      const err2 = await rejectionOf(unknownPool.getToken('alice'));
      assert.ok(isBrokerError(err2) && err2.code === 'ERR_MISCONFIGURED');
    } finally {
      await f.stop();
    }
  });
});
