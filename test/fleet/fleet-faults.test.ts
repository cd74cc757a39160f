// Redis faults: down, paused (SIGSTOP), flushed, restarted, slow. The brokers degrade to per-process
// behaviour with one warning line and a stat, answer every request as a broker alone would, never
// wait on Redis past the command timeout, and share again once Redis answers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { logSink } from '../helpers/log-sink.js';
import {
  fleetSkipReason,
  skipOnCluster,
  startFleetStack,
  type FleetInstance,
  type FleetStack,
} from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const DEGRADED = 'fleet: Redis unavailable; working per process until it answers';

async function eventually(condition: () => boolean | Promise<boolean>, rounds = 250): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('condition not met in time');
}

/** Users asked for on every instance at once; every request must succeed. */
async function askAll(instances: readonly FleetInstance[], users: readonly string[]): Promise<void> {
  await Promise.all(users.flatMap((u) => instances.map((i) => i.broker.getCredentials(u))));
}

void describe('fleet: Redis faults', { skip, timeout: 60_000 }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('Redis down: every request served per process, one warning each; shared again after a restart', async (t) => {
    if (skipOnCluster(t, 'kills and restarts the one server')) return;
    const logs = logSink();
    const fast = { retryMs: 100, commandTimeoutMs: 200 };
    const a = await stack.instance({ logger: logs.logger }, fast);
    const b = await stack.instance({ logger: logs.logger }, fast);
    await askAll([a, b], ['down-cached']);
    await stack.redisServer.kill();
    try {
      // Cached users and new users alike, several rounds (each would probe Redis again).
      for (let round = 0; round < 3; round++) {
        await askAll([a, b], ['down-cached', `down-new-${round}`]);
        await new Promise((r) => setTimeout(r, 120));
      }
      assert.equal(a.broker.stats().fleet?.state, 'degraded');
      assert.equal(b.broker.stats().fleet?.state, 'degraded');
      assert.equal(logs.withMsg(DEGRADED).length, 2, 'one warning per instance for the whole outage');
    } finally {
      await stack.redisServer.restart();
    }
    await eventually(async () => {
      await a.broker.getCredentials('down-cached');
      await b.broker.getCredentials('down-cached');
      return a.broker.stats().fleet?.state === 'shared' && b.broker.stats().fleet?.state === 'shared';
    });
    // Sharing again: one load fleet-wide for a new user.
    const before = stack.calls()[TOKEN] ?? 0;
    await askAll([a, b], ['after-restart']);
    assert.equal(stack.calls()[TOKEN], before + 1);
  });

  void it('Redis paused (SIGSTOP): requests complete without waiting for it; resumes sharing', async () => {
    const a = await stack.instance({}, { retryMs: 100, commandTimeoutMs: 200 });
    const b = await stack.instance({}, { retryMs: 100, commandTimeoutMs: 200 });
    stack.pauseRedis();
    try {
      await askAll([a, b], ['paused-1', 'paused-2']);
      assert.equal(a.broker.stats().fleet?.state, 'degraded');
    } finally {
      stack.resumeRedis();
    }
    await eventually(async () => {
      await a.broker.getCredentials('paused-1');
      return a.broker.stats().fleet?.state === 'shared';
    });
  });

  void it('Redis slow (DEBUG SLEEP past the command timeout): requests complete, then share again', async () => {
    const a = await stack.instance({}, { retryMs: 100, commandTimeoutMs: 100 });
    const sleeping = stack.slowRedis(0.5);
    await askAll([a], ['slow-1']);
    await sleeping;
    await eventually(async () => {
      await a.broker.getCredentials('slow-2');
      return a.broker.stats().fleet?.state === 'shared';
    });
  });

  void it('Redis flushed: entries reload from Cognito once fleet-wide; every instance drops what it may have missed', async () => {
    const a = await stack.instance({}, { syncIntervalMs: 100 });
    const b = await stack.instance({}, { syncIntervalMs: 100 });
    // A read on each first: its command follows the instance's first look at the change log.
    await askAll([a, b], ['flush-warm']);
    // A change makes the change log exist, so that losing it is seen.
    a.broker.forgetUser('flush-0');
    await askAll([a, b], ['flush-1', 'flush-2']);
    await eventually(() => (b.broker.stats().fleet?.invalidationsApplied ?? 0) >= 1);
    await stack.flushRedis();
    await eventually(
      () => (a.broker.stats().fleet?.resyncDrops ?? 0) >= 1 && (b.broker.stats().fleet?.resyncDrops ?? 0) >= 1,
    );
    const before = stack.calls()[TOKEN] ?? 0;
    await askAll([a, b], ['flush-1', 'flush-2']);
    assert.equal(stack.calls()[TOKEN], before + 2, 'one load per user for the whole fleet');
  });
});
