// The degraded quota share, without Redis: a fake runner that is usable or not, a fake shared store.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bucketForQuota } from '../../../src/broker/quota/options.js';
import type { QuotaStore, QuotaTake } from '../../../src/broker/quota/store.js';
import { fallbackStore, shareOf } from '../../../src/fleet/quota-fallback.js';
import pino from 'pino';
import { RedisRunner, RedisUnavailable, type FleetRedisClient } from '../../../src/fleet/runner.js';

void it('shareOf: the shares of n instances let through no more in a second than the bucket', () => {
  for (const q of [2, 5, 10, 20, 25, 50, 200, 1000]) {
    const b = bucketForQuota(q);
    for (const n of [1, 2, 3, 5, 8]) {
      const s = shareOf(b, n);
      assert.ok(s.burst >= 1 && s.rate > 0, `q ${q} n ${n}`);
      if (n <= b.burst + b.rate - 1) {
        assert.ok(n * (s.burst + s.rate) <= b.burst + b.rate + 1e-9, `q ${q} n ${n}: ${JSON.stringify(s)}`);
      }
    }
  }
});

/** A runner whose Redis answers or not, answering the heartbeat with `live`. */
function fakeRunner(live: number): { runner: RedisRunner; up: { value: boolean } } {
  const up = { value: true };
  const runner = {
    usable: () => up.value,
    run: () => (up.value ? Promise.resolve(live) : Promise.reject(new RedisUnavailable('down'))),
  } as unknown as RedisRunner;
  return { runner, up };
}

const granting: QuotaStore = { take: () => ({ granted: true }), refund: () => undefined };
const bucket = bucketForQuota(20);
const take = (now: number): QuotaTake => ({
  kind: 'operation',
  key: 'GetOpenIdTokenForDeveloperIdentity',
  bucket,
  floor: 0,
  now,
});

async function grantsOver(store: QuotaStore, from: number, ms: number): Promise<number> {
  let n = 0;
  for (let t = from; t < from + ms; t += 1) if ((await store.take(take(t))).granted) n += 1;
  return n;
}

void it('degraded: one instance of three takes a third of the quota, from an empty share', async () => {
  const { runner, up } = fakeRunner(3);
  const store = fallbackStore(runner, granting, {
    liveSet: 'p:live',
    instance: 'i',
    maxUsers: 10,
    retryMs: 1000,
    commandTimeoutMs: 250,
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(store.liveInstances, 3);
  up.value = false;
  const perSecond = (bucket.burst + bucket.rate) / 3;
  const first = await grantsOver(store, 0, 1000);
  assert.ok(first <= perSecond, `${first} in the first second`);
  assert.ok(first >= perSecond - 2, `${first} in the first second`);
  // Back: for the hand-over, the share still bounds this instance though the shared store grants all.
  up.value = true;
  const handOver = await grantsOver(store, 1000, 1000);
  assert.ok(handOver <= perSecond + 1, `${handOver} during the hand-over`);
  // Past the hand-over (retryMs + commandTimeoutMs + 2 heartbeats), the shared store alone.
  assert.equal(await grantsOver(store, 10_000, 100), 100);
  store.close();
});

void it('degraded before ever seeing Redis: a share of expectedInstances (default 3), full', async () => {
  const { runner, up } = fakeRunner(3);
  up.value = false;
  const store = fallbackStore(runner, granting, {
    liveSet: 'p:live',
    instance: 'i',
    maxUsers: 10,
    retryMs: 1000,
    commandTimeoutMs: 250,
  });
  assert.equal(store.liveInstances, 3);
  const perSecond = (bucket.burst + bucket.rate) / 3;
  const n = await grantsOver(store, 0, 1000);
  assert.ok(n >= Math.floor(perSecond) - 1 && n <= perSecond, `${n}`);
  store.close();
});

void it('a single instance set to expectedInstances 1 takes the whole bucket before seeing Redis', async () => {
  const { runner, up } = fakeRunner(3);
  up.value = false;
  const store = fallbackStore(runner, granting, {
    liveSet: 'p:live',
    instance: 'i',
    maxUsers: 10,
    retryMs: 1000,
    commandTimeoutMs: 250,
    expectedInstances: 1,
  });
  assert.equal(store.liveInstances, 1);
  const n = await grantsOver(store, 0, 1000);
  assert.ok(n >= Math.floor(bucket.burst + bucket.rate) - 1 && n <= bucket.burst + bucket.rate, `${n}`);
  store.close();
});

void it('three instances started while Redis never connects stay within the bucket together (review 6)', async () => {
  const never = (): Promise<unknown> => new Promise(() => undefined);
  const client = {
    isReady: false,
    evalSha: never,
    eval: never,
    duplicate: () => {
      throw new Error('not used');
    },
    on: () => undefined,
  } as unknown as FleetRedisClient;
  const shape = { rate: 20, burst: 20 };
  const failing: QuotaStore = {
    take: () => Promise.reject(new Error('down')),
    refund: () => undefined,
  };
  const stores = [0, 1, 2].map((i) =>
    fallbackStore(
      new RedisRunner({ client, commandTimeoutMs: 250, retryMs: 1000, log: pino({ level: 'silent' }) }),
      failing,
      { liveSet: 'p:live', instance: `i${i}`, maxUsers: 10, retryMs: 1000, commandTimeoutMs: 250 },
    ),
  );
  let granted = 0;
  // One simulated second, a take every 10 ms on each.
  for (let t = 0; t <= 1000; t += 10) {
    for (const store of stores) {
      const r = await store.take({ kind: 'operation', key: 'Op', bucket: shape, floor: 0, now: t });
      if (r.granted) granted += 1;
    }
  }
  for (const store of stores) store.close();
  assert.ok(granted <= shape.burst + shape.rate, `granted ${granted} in 1 s (the bucket lets 40 through)`);
  assert.ok(granted >= 30, `granted ${granted} in 1 s`);
});

void it('a heartbeat count a Redis writer inflated is clamped to maxInstances; shares still grant (review 10)', async () => {
  const { runner, up } = fakeRunner(1_000_000);
  const store = fallbackStore(runner, granting, {
    liveSet: 'p:live',
    instance: 'i',
    maxUsers: 10,
    retryMs: 1000,
    commandTimeoutMs: 250,
    maxInstances: 10,
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(store.liveInstances, 10);
  up.value = false;
  // A tenth of the bucket, from an empty share: about its rate a second (a millionth would give 0).
  const n = await grantsOver(store, 0, 5000);
  assert.ok(n >= Math.floor(5 * shareOf(bucket, 10).rate) - 1 && n >= 1, `${n} in 5 s`);
  store.close();
});

void it('a live set a Redis writer emptied (each counts itself alone) is floored at expectedInstances (review 10)', async () => {
  const { runner, up } = fakeRunner(1);
  const store = fallbackStore(runner, granting, {
    liveSet: 'p:live',
    instance: 'i',
    maxUsers: 10,
    retryMs: 1000,
    commandTimeoutMs: 250,
    expectedInstances: 4,
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(store.liveInstances, 4);
  up.value = false;
  const n = await grantsOver(store, 0, 1000);
  assert.ok(n <= (bucket.burst + bucket.rate) / 4, `${n} in 1 s`);
  store.close();
});

void it('a share of a fractional burst with a floor still grants (the floor leaves at least one call)', async () => {
  const { runner, up } = fakeRunner(2);
  const store = fallbackStore(runner, granting, {
    liveSet: 'p:live',
    instance: 'i',
    maxUsers: 10,
    retryMs: 1000,
    commandTimeoutMs: 250,
    expectedInstances: 2,
  });
  await new Promise((r) => setImmediate(r));
  up.value = false;
  // burst 3 over 2 instances: 1.5 each; a first load's floor (a quarter of the burst) is 0 there.
  const shape = { rate: 10, burst: 3 };
  let granted = 0;
  for (let t = 0; t < 2000; t += 10) {
    const r = await store.take({ kind: 'operation', key: 'Op', bucket: shape, floor: 2, now: t });
    if (r.granted) granted += 1;
  }
  assert.ok(granted >= 8, `granted ${granted} in 2 s`);
  store.close();
});
