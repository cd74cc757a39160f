// The fleet tier's metrics on the real OpenTelemetry SDK: its events and state, with attribute
// values from a fixed set (never a user id, an identity id or a key).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otelHarness, total } from '../helpers/otel.js';
import { fleetSkipReason, FLEET_KEY, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();

void describe('fleet: metrics', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('shared loads and hits, changes and the state are counted; attributes name no user', async () => {
    const otelA = otelHarness();
    const otelB = otelHarness();
    try {
      const a = await stack.instance({ meterProvider: otelA.meterProvider });
      const b = await stack.instance({ meterProvider: otelB.meterProvider });
      await a.broker.getCredentials('metric-user-1');
      await b.broker.getCredentials('metric-user-1');
      a.broker.forgetUser('metric-user-2');
      const pointsA = await otelA.collect();
      const pointsB = await otelB.collect();
      const events = 'cognito_broker.fleet.events';
      const event = 'cognito_broker.fleet.event';
      assert.equal(total(pointsA, events, { [event]: 'shared_load' }), 2);
      assert.equal(total(pointsB, events, { [event]: 'shared_hit' }), 2);
      assert.equal(total(pointsB, events, { [event]: 'shared_load' }), 0);
      assert.equal(total(pointsA, 'cognito_broker.fleet.shared'), 1);
      const everything = JSON.stringify([...(await otelA.everything()), ...(await otelB.everything())]);
      assert.ok(!everything.includes('metric-user'), 'no user id in any attribute');
      assert.ok(!everything.includes(FLEET_KEY));
    } finally {
      await otelA.shutdown();
      await otelB.shutdown();
    }
  });
});
