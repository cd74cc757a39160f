// The broker's default client (no `client` option): the real AWS SDK with its middleware stack
// cached, per-call aborts through the broker's own middleware, against the emulator found through
// the SDK's standard environment variables. Each test file runs in its own process, so setting
// them here touches no other suite.
import assert from 'node:assert/strict';
import { settle } from '../helpers/broker-fixture.js';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { createBroker, isBrokerError, type Broker, type BrokerOptions } from '../../src/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';

const DEV = 'login.default-client.test';
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

void describe('broker: the default client', () => {
  let emu: RunningEmulator;
  let poolId: string;
  before(async () => {
    emu = await startEmulator({ seed: [{ name: 'default-client', developerProviderName: DEV }] });
    poolId = emu.pools[0]!.identityPoolId;
    process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY = emu.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  });
  after(async () => {
    await emu.stop();
  });
  beforeEach(() => {
    emu.clearFaults();
    emu.resetCounters();
  });

  // No quota governor here (broker-quota.test.ts tests it with the default client): these tests mock
  // setTimeout, on which the governor would queue every call past its burst.
  const broker = (options: Partial<BrokerOptions> = {}): Broker =>
    createBroker({ identityPoolId: poolId, developerProviderName: DEV, quota: false, ...options });

  /**
   * Waits, by event-loop turns (a bounded count, no timer), until the emulator has counted `n` calls
   * of `op`: the SDK's requests travel over real sockets while its timers are mocked.
   */
  const arrived = async (op: string, n: number): Promise<void> => {
    for (let turn = 0; turn < 100_000 && (emu.counters()[op] ?? 0) < n; turn += 1) await settle(1);
    assert.equal(emu.counters()[op] ?? 0, n, `${op} calls arrived`);
  };
  /** Longer than any timer of the broker and the SDK (timeouts, retry backoff, deferred socket listeners). */
  const ALL_TIMERS_MS = 60_000;

  void it('serves the developer flow with two calls per user, concurrent calls of one command included', async () => {
    const b = broker();
    const users = Array.from({ length: 12 }, (_, i) => `user-${String(i)}`);
    const first = await Promise.all(users.map((u) => b.getCredentials(u)));
    const again = await Promise.all(users.map((u) => b.getCredentials(u)));
    assert.deepEqual(again, first);
    assert.equal(new Set(first.map((c) => c.identityId)).size, users.length, 'one identity per user');
    for (const c of first) assert.match(c.accessKeyId, /^ASIA/);
    assert.deepEqual(emu.counters(), { [TOKEN]: users.length, [CREDS]: users.length });
  });

  void it('retries a throttled call up to maxAttempts', async () => {
    emu.setFault(TOKEN, { error: 'TooManyRequestsException', count: 2 });
    const token = await broker({ maxAttempts: 3 }).getToken('retried');
    assert.match(token.identityId, /^us-east-1:/);
    assert.equal(emu.counters()[TOKEN], 3);
  });

  void it('gives up after timeoutMs with ERR_COGNITO_TIMEOUT and makes no attempt after that', async (t: TestContext) => {
    // The broker's timeout and the SDK's timers run on mocked time; the emulator's latency is real.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    emu.setFault(TOKEN, { latencyMs: 1500 });
    const b = broker({ timeoutMs: 200, maxAttempts: 3 });
    const pending = b.getToken('slow').then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e,
    );
    await arrived(TOKEN, 1);
    t.mock.timers.tick(200);
    const err = await pending;
    assert.ok(isBrokerError(err) && err.code === 'ERR_COGNITO_TIMEOUT', String(err));
    // The SDK would retry a timed-out attempt; an aborted call must not: run out every retry
    // delay, then a call after it shows where the count stands.
    t.mock.timers.tick(ALL_TIMERS_MS);
    await settle();
    emu.clearFaults();
    await b.getToken('after-the-timeout');
    assert.equal(emu.counters()[TOKEN], 2, 'the timed-out call made one attempt');
  });

  void it('keeps retrying failed calls after many timeouts (an abort never spends the SDK retry quota)', async (t: TestContext) => {
    // Each retry of a timed-out call would take 14 of the SDK's 500 retry tokens: 20 calls, 2 retries each, would empty it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    emu.setFault(TOKEN, { latencyMs: 2500 });
    const b = broker({ timeoutMs: 2000, maxAttempts: 3 });
    const pending = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.getToken(`slow-${String(i)}`).then(
          () => 'ok',
          (e: unknown) => (isBrokerError(e) ? e.code : 'other'),
        ),
      ),
    );
    await arrived(TOKEN, 20);
    t.mock.timers.tick(2000);
    const outcomes = await pending;
    assert.deepEqual(new Set(outcomes), new Set(['ERR_COGNITO_TIMEOUT']));
    // Run out the SDK's backoff timers of those calls; the retried call below runs on real time.
    t.mock.timers.tick(ALL_TIMERS_MS);
    await settle();
    t.mock.timers.reset();
    emu.clearFaults();
    emu.resetCounters();
    // A server error (retried after ~100–400 ms, well within the 2 s timeout).
    emu.setFault(TOKEN, { error: 'InternalErrorException', count: 2 });
    const token = await b.getToken('after-timeouts');
    assert.match(token.identityId, /^us-east-1:/);
    assert.equal(emu.counters()[TOKEN], 3, 'the failed call was retried');
  });

  void it('makes no further attempt for a load cancelled while it waits to retry', async (t: TestContext) => {
    // The SDK's retry delay runs on mocked time: it lasts until the test runs it out.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    emu.setFault(TOKEN, { error: 'TooManyRequestsException', count: 1 });
    const b = broker({ maxAttempts: 3 });
    const pending = b.getToken('cancelled');
    // The first attempt is refused at once; forget the user while the SDK waits to retry.
    await arrived(TOKEN, 1);
    await settle();
    b.forgetUser('cancelled');
    const settled = await pending.then(
      () => 'fulfilled',
      () => 'rejected',
    );
    // The waiter reads again after a cancelled load: one new load.
    assert.equal(settled, 'fulfilled');
    assert.equal(emu.counters()[TOKEN], 2);
    // Run out the cancelled load's retry delay: it makes no attempt (a call after it shows the count).
    t.mock.timers.tick(ALL_TIMERS_MS);
    await settle();
    await b.getToken('after-the-cancel');
    assert.equal(emu.counters()[TOKEN], 3);
  });
});
