// The broker's default client (no `client` option): the real AWS SDK with its middleware stack
// cached, per-call aborts through the broker's own middleware, against the emulator found through
// the SDK's standard environment variables. Each test file runs in its own process, so setting
// them here touches no other suite.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
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

  const broker = (options: Partial<BrokerOptions> = {}): Broker =>
    createBroker({ identityPoolId: poolId, developerProviderName: DEV, ...options });

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

  void it('gives up after timeoutMs with ERR_COGNITO_TIMEOUT and makes no attempt after that', async () => {
    emu.setFault(TOKEN, { latencyMs: 1500 });
    const started = Date.now();
    const err = await broker({ timeoutMs: 200, maxAttempts: 3 })
      .getToken('slow')
      .then(
        () => assert.fail('expected a timeout'),
        (e: unknown) => e,
      );
    const elapsed = Date.now() - started;
    assert.ok(isBrokerError(err) && err.code === 'ERR_COGNITO_TIMEOUT', String(err));
    assert.ok(elapsed >= 190 && elapsed < 1200, `answered after ${String(elapsed)} ms`);
    // The SDK would retry a timed-out attempt; an aborted call must not.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(emu.counters()[TOKEN], 1);
  });

  void it('keeps retrying failed calls after many timeouts (an abort never spends the SDK retry quota)', async () => {
    // Each retry of a timed-out call would take 14 of the SDK's 500 retry tokens: 20 calls, 2 retries each, would empty it.
    emu.setFault(TOKEN, { latencyMs: 2500 });
    const b = broker({ timeoutMs: 2000, maxAttempts: 3 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.getToken(`slow-${String(i)}`).then(
          () => 'ok',
          (e: unknown) => (isBrokerError(e) ? e.code : 'other'),
        ),
      ),
    );
    assert.deepEqual(new Set(outcomes), new Set(['ERR_COGNITO_TIMEOUT']));
    // Let the SDK's backoff timers of those calls run out.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    emu.clearFaults();
    emu.resetCounters();
    // A server error (retried after ~100–400 ms, well within the 2 s timeout).
    emu.setFault(TOKEN, { error: 'InternalErrorException', count: 2 });
    const token = await b.getToken('after-timeouts');
    assert.match(token.identityId, /^us-east-1:/);
    assert.equal(emu.counters()[TOKEN], 3, 'the failed call was retried');
  });

  void it('makes no further attempt for a load cancelled while it waits to retry', async () => {
    emu.setFault(TOKEN, { error: 'TooManyRequestsException', count: 1 });
    const b = broker({ maxAttempts: 3 });
    const pending = b.getToken('cancelled');
    // The first attempt is refused at once; forget the user while the SDK waits to retry.
    await new Promise((resolve) => setTimeout(resolve, 20));
    b.forgetUser('cancelled');
    const settled = await pending.then(
      () => 'fulfilled',
      () => 'rejected',
    );
    await new Promise((resolve) => setTimeout(resolve, 600));
    // The waiter reads again after a cancelled load: one new load, and the cancelled one made no retry.
    assert.equal(settled, 'fulfilled');
    assert.equal(emu.counters()[TOKEN], 2);
  });
});
