// The quota governor's buckets and the per-user budgets in Redis: the limits hold for the fleet, not
// per instance.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../src/index.js';
import { fleetSkipReason, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();

void describe('fleet: quota shared by the instances', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('a token bucket of burst 3: three grants for the whole fleet, not three per instance', async () => {
    const quota = {
      operations: { GetOpenIdTokenForDeveloperIdentity: { rate: 0.2, burst: 3 } },
      maxWaitMs: 0,
      perUser: false as const,
    };
    const instances = [
      await stack.instance({ quota }, { prefix: 'q1' }),
      await stack.instance({ quota }, { prefix: 'q1' }),
      await stack.instance({ quota }, { prefix: 'q1' }),
    ];
    const outcomes = await Promise.allSettled(
      instances.flatMap((i, n) => [0, 1, 2, 3].map((u) => i.broker.getToken(`bucket-${n}-${u}`))),
    );
    const granted = outcomes.filter((o) => o.status === 'fulfilled').length;
    // The burst, and at most one more token refilled (0.2/s) while the test runs.
    assert.ok(granted >= 3 && granted <= 4, `granted ${granted} of 12`);
    for (const o of outcomes) {
      if (o.status === 'rejected') assert.ok(isBrokerError(o.reason) && o.reason.code === 'ERR_COGNITO_THROTTLED');
    }
  });

  void it("a user's budget is spent across instances: the third lookup is refused wherever it lands", async () => {
    const quota = { perUser: { callsPerMinute: 3 } };
    const a = await stack.instance({ quota }, { prefix: 'q2' });
    const b = await stack.instance({ quota }, { prefix: 'q2' });
    // callsPerMinute 3: burst 2. Fresh lookups (not from the cache) are each a call charged to the user.
    await a.broker.unlinkDeveloperUser('budget-user');
    const second = b.broker.unlinkDeveloperUser('budget-user');
    await second;
    await assert.rejects(a.broker.unlinkDeveloperUser('budget-user'), (err: unknown) => {
      assert.ok(isBrokerError(err));
      assert.equal(err.code, 'ERR_RATE_LIMITED');
      return true;
    });
  });
});
