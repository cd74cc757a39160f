// Several brokers over one real redis-server and one emulator: what the fleet shares.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetSkipReason, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

void describe('fleet: one Cognito load per entry for the whole fleet', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('users asked for on three instances at once cost one token and one credentials call each', async () => {
    const instances = [await stack.instance(), await stack.instance(), await stack.instance()];
    stack.emu.resetCounters();
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const results = await Promise.all(users.flatMap((u) => instances.map((i) => i.broker.getCredentials(u))));
    const calls = stack.calls();
    assert.equal(calls[TOKEN], users.length);
    assert.equal(calls[CREDS], users.length);
    // Every instance hands out the same credentials for a user.
    for (let u = 0; u < users.length; u++) {
      const same = results.slice(u * 3, u * 3 + 3).map((c) => c.accessKeyId);
      assert.equal(new Set(same).size, 1);
    }
    const stats = instances.map((i) => i.broker.stats().fleet);
    assert.ok(stats.every((s) => s?.state === 'shared'));
    assert.equal(
      stats.reduce((n, s) => n + (s?.sharedLoads ?? 0), 0),
      users.length * 2,
    );
  });
});

void describe('fleet: a user cached by another instance', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('costs one Redis round trip: the token entry brings the credentials along', async () => {
    const a = await stack.instance();
    // No periodic check on B during the count.
    const b = await stack.instance({}, { syncIntervalMs: 60_000 });
    await b.broker.getToken('warm-b');
    await a.broker.getCredentials('one-trip');
    // Let A's writes land before B reads.
    await stack.pingAll();
    // Every master's commands (a cluster's: the user's keys are on one of them).
    const monitor = await stack.monitor();
    const commands = monitor.lines;
    try {
      const before = commands.length;
      const got = await b.broker.getCredentials('one-trip');
      await stack.pingAll();
      const scripts = commands.slice(before).filter((c) => /"evalsha"|"eval"/i.test(c));
      assert.equal(scripts.length, 1, scripts.join('\n'));
      assert.equal(got.accessKeyId, (await a.broker.getCredentials('one-trip')).accessKeyId);
      assert.equal(b.broker.stats().fleet?.sharedHits, 2);
    } finally {
      monitor.stop();
    }
  });
});
