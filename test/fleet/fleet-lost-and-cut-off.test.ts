// Changes whose answer was lost, an instance cut off from Redis, and close() inside the degraded window.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FleetRedisClient } from '../../src/fleet/index.js';
import {
  asFleetClient,
  fleetSkipReason,
  startFleetStack,
  type FleetConnection,
  type FleetStack,
} from '../helpers/fleet-stack.js';

const sleep = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** A Redis client whose scripts fail while `cut.on` (this instance cut off; the others reach Redis). */
function cutOff(real: FleetConnection): { client: FleetRedisClient; cut: { on: boolean } } {
  const cut = { on: false };
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (prop === 'evalSha' || prop === 'eval') {
        return (...args: unknown[]) =>
          cut.on ? Promise.reject(new Error('connect ETIMEDOUT')) : fn.apply(target, args);
      }
      return fn.bind(target);
    },
  });
  return { client: asFleetClient(client), cut };
}

async function changeSeq(stack: FleetStack, prefix: string): Promise<string | null> {
  const keys = await stack.keys(`${prefix}:*:changes`);
  return keys[0] === undefined ? null : stack.client.hGet(keys[0], 'seq');
}

void describe('fleet: lost answers, a cut-off instance, close()', { skip: fleetSkipReason() }, () => {
  let stack: FleetStack;
  // The connections the tests wrap (the stack closes the fleets, then the test these).
  const own: FleetConnection[] = [];
  const connect = async () => {
    const client = await stack.connect();
    own.push(client);
    return client;
  };
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
    for (const client of own) client.destroy();
  });

  void it('an instance cut off from the change log stops serving its cache after the bound', async () => {
    const fleet = { prefix: 'cut', syncIntervalMs: 200, commandTimeoutMs: 100 };
    const a = await stack.instance({}, fleet);
    const { client, cut } = cutOff(await connect());
    const b = await stack.instance({}, { ...fleet, client });
    const victim = 'cut-victim@example.com';
    const old = (await b.broker.getToken(victim)).identityId;
    cut.on = true;
    try {
      await a.broker.unlinkDeveloperUser(victim);
      // Well past the bound (syncIntervalMs + commandTimeoutMs = 300 ms).
      await sleep(1500);
      const now = (await b.broker.getToken(victim)).identityId;
      assert.notEqual(now, old);
      // Loaded while cut off (from Cognito): kept only briefly, then loaded again.
      const misses = b.broker.stats().tokens.misses;
      await sleep(1000);
      await b.broker.getToken(victim);
      assert.ok(b.broker.stats().tokens.misses > misses);
    } finally {
      cut.on = false;
    }
  });

  void it('close() sends the changes it holds even inside the degraded window', async () => {
    const fleet = { prefix: 'closing', syncIntervalMs: 200, retryMs: 60_000 };
    const { client, cut } = cutOff(await connect());
    const a = await stack.instance({}, { ...fleet, client });
    await a.broker.getToken('closing-user');
    const seq = await changeSeq(stack, 'closing');
    cut.on = true;
    // A cache hint: kept while Redis fails, and the runner degraded for a minute.
    a.broker.forgetUser('closing-user');
    await sleep(100);
    cut.on = false;
    await a.fleet.close();
    assert.notEqual(await changeSeq(stack, 'closing'), seq);
  });
});
