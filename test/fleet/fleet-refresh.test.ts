// Refresh-ahead across the fleet: every instance serves the same users; when their entries reach
// the refresh point, each entry is refreshed once for the whole fleet, not once per instance.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../helpers/manual-clock.js';
import { fleetSkipReason, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();
const CREDS = 'GetCredentialsForIdentity';

void describe('fleet: refresh once fleet-wide', { skip }, () => {
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack({ clock });
  });
  after(async () => {
    await stack.stop();
  });

  void it('entries past their refresh point on three instances: one GetCredentialsForIdentity each', async () => {
    // Long tokens, so that only the credentials are refreshed in the window.
    const options = { clock, tokenDurationSeconds: 4 * 3600, skewGraceSeconds: 300 };
    const instances = [await stack.instance(options), await stack.instance(options), await stack.instance(options)];
    const users = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'];
    for (const i of instances) await Promise.all(users.map((u) => i.broker.getCredentials(u)));
    stack.emu.resetCounters();
    // Credentials last an hour and are served until 55 min; refresh points fall in the last tenth
    // before the refresh-ahead point: past all of them at 54.5 min.
    clock.advance(54.5 * 60 * 1000);
    for (let round = 0; round < 20; round++) {
      await Promise.all(instances.flatMap((i) => users.map((u) => i.broker.getCredentials(u))));
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(stack.calls()[CREDS], users.length);
    // Every instance now holds the refreshed credentials.
    const ids = await Promise.all(instances.map((i) => i.broker.getCredentials('r-1')));
    assert.equal(new Set(ids.map((c) => c.accessKeyId)).size, 1);
  });
});
