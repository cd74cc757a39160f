// The quota governor against the emulator with the real SDK: every attempt the emulator receives
// took a token (the SDK's retries included), the emulator's own sliding-window throttle never fires
// at the governed rate, refusals are neither sent nor retried, and the per-user budget answers 429.
// The default client finds the emulator through the SDK's standard environment variables (each
// test file runs in its own process).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createBroker, isBrokerError, type Broker, type BrokerOptions } from '../../src/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import type { QuotaStore } from '../../src/broker/quota/store.js';
import { InMemoryQuotaStore } from '../../src/broker/quota/store.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';

const DEV = 'login.quota.test';
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

async function codeOf(p: Promise<unknown>): Promise<{ code: string; retryAfterSeconds: number | undefined }> {
  try {
    await p;
  } catch (err) {
    if (isBrokerError(err)) return { code: err.code, retryAfterSeconds: err.retryAfterSeconds };
    throw err;
  }
  return { code: 'OK', retryAfterSeconds: undefined };
}

void describe('broker: the quota governor against the emulator', () => {
  let emu: RunningEmulator;
  let poolId: string;
  before(async () => {
    emu = await startEmulator({ seed: [{ name: 'quota', developerProviderName: DEV }] });
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
  /** Time stands still for the governor: its buckets hold exactly their burst. */
  const frozen = { now: () => 0, maxWaitMs: 0, perUser: false } as const;

  void it('takes a token for every SDK attempt: a retry past the bucket is refused, not sent, not retried', async () => {
    emu.setFault(TOKEN, { error: 'InternalErrorException', count: 100 });
    const b = broker({
      maxAttempts: 5,
      quota: { ...frozen, operations: { [TOKEN]: { rate: 0.001, burst: 2 } } },
    });
    // Attempts 1 and 2 reach the emulator (and fail); attempt 3 gets no token.
    const first = await codeOf(b.getToken('alice'));
    assert.equal(first.code, 'ERR_COGNITO_THROTTLED');
    assert.equal(emu.counters()[TOKEN], 2, 'only the attempts with a token were sent');
    // The SDK took the refusal as final: one refusal, not one per remaining attempt.
    assert.deepEqual(b.stats().quotaRefused, { [TOKEN]: 1 });
    assert.deepEqual(b.stats().upstreamCalls, { [TOKEN]: 1 });
    // The next call is refused before it is sent: not an upstream call.
    const second = await codeOf(b.getToken('bob'));
    assert.equal(second.code, 'ERR_COGNITO_THROTTLED');
    // Computed from the bucket (a token every 1000 s): the first refusal was promised the token in
    // 1000 s, this one a slot half a token later.
    assert.equal(second.retryAfterSeconds, 1500);
    assert.equal(emu.counters()[TOKEN], 2);
    assert.deepEqual(b.stats().quotaRefused, { [TOKEN]: 2 });
    assert.deepEqual(b.stats().upstreamCalls, { [TOKEN]: 1 });
    assert.deepEqual(b.stats().upstreamThrottles, {}, 'no throttle came from Cognito');
  });

  void it('never lets the emulator’s sliding-window throttle fire at the governed rate, SDK retries included', async () => {
    // The emulator refuses past 20 calls in any second and fails the first 10 calls it lets through,
    // which the SDK retries. A throttled attempt would be retried too and show as an extra call.
    emu.setFault(TOKEN, { throttleRps: 20, error: 'InternalErrorException', count: 10 });
    const b = broker({
      maxAttempts: 3,
      timeoutMs: 20_000,
      quota: { operations: { [TOKEN]: 20 }, maxWaitMs: 15_000, perUser: false },
    });
    const users = Array.from({ length: 30 }, (_, i) => `user-${String(i)}`);
    const outcomes = await Promise.all(users.map((u) => codeOf(b.getToken(u))));
    assert.deepEqual(
      outcomes.filter((o) => o.code !== 'OK'),
      [],
    );
    assert.equal(emu.counters()[TOKEN], users.length + 10, 'each call once, plus the 10 retried failures: no throttle');
    assert.deepEqual(b.stats().upstreamThrottles, {});
  });

  void it('governs a client of your own once per call', async () => {
    const client = emulatorClient(emu);
    try {
      const b = broker({ client, quota: { ...frozen, operations: { [TOKEN]: { rate: 0.001, burst: 2 } } } });
      const outcomes = await Promise.all(['a', 'b', 'c'].map((u) => codeOf(b.getToken(u))));
      assert.deepEqual(outcomes.map((o) => o.code).sort(), ['ERR_COGNITO_THROTTLED', 'OK', 'OK']);
      assert.equal(emu.counters()[TOKEN], 2);
    } finally {
      client.destroy();
    }
  });

  void it('counts Cognito’s throttles apart from the governor’s refusals', async () => {
    const client = emulatorClient(emu);
    try {
      emu.setFault(TOKEN, { error: 'TooManyRequestsException', count: 1 });
      const b = broker({ client, quota: { ...frozen, operations: { [TOKEN]: { rate: 0.001, burst: 2 } } } });
      assert.equal((await codeOf(b.getToken('a'))).code, 'ERR_COGNITO_THROTTLED');
      assert.equal((await codeOf(b.getToken('b'))).code, 'OK');
      assert.equal((await codeOf(b.getToken('c'))).code, 'ERR_COGNITO_THROTTLED');
      const stats = b.stats();
      assert.deepEqual(stats.upstreamThrottles, { [TOKEN]: 1 });
      assert.deepEqual(stats.quotaRefused, { [TOKEN]: 1 });
      assert.deepEqual(stats.upstreamCalls, { [TOKEN]: 2 });
    } finally {
      client.destroy();
    }
  });

  void it('answers ERR_RATE_LIMITED (429) with Retry-After once a user has caused callsPerMinute calls', async () => {
    // Three a minute, two of them at once: the third waits 60 s.
    const b = broker({ quota: { perUser: { callsPerMinute: 3 } } });
    await b.getCredentials('looping');
    b.forgetUser('looping');
    const limited = await codeOf(b.getCredentials('looping'));
    assert.equal(limited.code, 'ERR_RATE_LIMITED');
    assert.equal(limited.retryAfterSeconds, 60);
    assert.deepEqual(emu.counters(), { [TOKEN]: 1, [CREDS]: 1 }, 'the refused load was not sent');
    assert.deepEqual(b.stats().userBudgetRefused, { [TOKEN]: 1 });
    // Other users are not affected.
    await b.getCredentials('someone-else');
  });

  void it('touches nothing of the governor on a cache hit', async () => {
    const store = new InMemoryQuotaStore();
    let takes = 0;
    const counting: QuotaStore = {
      take: (t) => {
        takes += 1;
        return store.take(t);
      },
      refund: (kind, key, bucket, now) => {
        store.refund(kind, key, bucket, now);
      },
    };
    const b = broker({ quota: { store: counting } });
    await b.getCredentials('warm');
    const afterLoad = takes;
    assert.ok(afterLoad >= 2);
    for (let i = 0; i < 50; i += 1) await b.getCredentials('warm');
    assert.ok(b.freshCredentialsBody?.('warm') !== undefined);
    await b.getToken('warm');
    assert.equal(takes, afterLoad);
  });
});
