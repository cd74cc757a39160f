// RedisQuotaStore against a real redis-server: the in-memory store's decisions, one bucket shared
// by several instances, no user id in Redis, idle buckets expiring, scripts lost by a flush.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FleetKeys } from '../../src/fleet/keys.js';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import {
  InMemoryQuotaStore,
  type BucketShape,
  type QuotaTake,
  type QuotaTakeResult,
} from '../../src/broker/quota/store.js';
import { QUOTA_EXPIRY_MARGIN_MS, RedisQuotaStore } from '../../src/fleet/quota-store.js';
import { RedisRunner, RedisUnavailable, type FleetRedisClient } from '../../src/fleet/runner.js';
import { logSink } from '../helpers/log-sink.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

type Client = ReturnType<typeof createClient>;

/** Slow enough that the refill during a test (seconds) is far below one token. */
const SLOW = 0.001;

type Step =
  | { readonly do: 'take'; readonly take: Omit<QuotaTake, 'now'> }
  | { readonly do: 'refund'; readonly kind: 'operation' | 'user'; readonly key: string; readonly bucket: BucketShape };

const op = (key: string, bucket: BucketShape, extra: Partial<QuotaTake> = {}): Step => ({
  do: 'take',
  take: { kind: 'operation', key, bucket, floor: 0, ...extra },
});

const CASES: readonly { readonly name: string; readonly steps: readonly Step[] }[] = [
  {
    name: 'a new bucket is full: its burst, then a refusal',
    steps: Array.from({ length: 4 }, () => op('Op', { rate: SLOW, burst: 3 })),
  },
  {
    name: 'a floor leaves its tokens to higher priorities',
    steps: [
      ...Array.from({ length: 3 }, () => op('Op', { rate: SLOW, burst: 4 }, { floor: 2 })),
      ...Array.from({ length: 3 }, () => op('Op', { rate: SLOW, burst: 4 })),
    ],
  },
  {
    name: 'an empty cap refuses and leaves the bucket alone',
    steps: [
      ...Array.from({ length: 2 }, () =>
        op('Op', { rate: SLOW, burst: 5 }, { cap: { key: 'Op#guest', bucket: { rate: SLOW, burst: 1 } } }),
      ),
      ...Array.from({ length: 5 }, () => op('Op', { rate: SLOW, burst: 5 })),
    ],
  },
  {
    name: 'an empty bucket refuses and leaves the cap alone',
    steps: [
      ...Array.from({ length: 2 }, () =>
        op('Op', { rate: SLOW, burst: 1 }, { cap: { key: 'Op#guest', bucket: { rate: SLOW, burst: 2 } } }),
      ),
      ...Array.from({ length: 2 }, () => op('Op#guest', { rate: SLOW, burst: 2 })),
    ],
  },
  {
    name: 'a fractional cap burst grants whole tokens only',
    steps: Array.from({ length: 3 }, () =>
      op('Op', { rate: SLOW, burst: 3 }, { cap: { key: 'Op#guest', bucket: { rate: SLOW, burst: 1.5 } } }),
    ),
  },
  {
    name: 'a refund puts a token back, up to the burst',
    steps: [
      op('u1', { rate: SLOW, burst: 2 }, { kind: 'user' }),
      { do: 'refund', kind: 'user', key: 'u1', bucket: { rate: SLOW, burst: 2 } },
      { do: 'refund', kind: 'user', key: 'u1', bucket: { rate: SLOW, burst: 2 } },
      ...Array.from({ length: 3 }, () => op('u1', { rate: SLOW, burst: 2 }, { kind: 'user' })),
    ],
  },
  {
    name: 'a refund to a new bucket leaves it full',
    steps: [
      { do: 'refund', kind: 'operation', key: 'Op', bucket: { rate: SLOW, burst: 1 } },
      ...Array.from({ length: 2 }, () => op('Op', { rate: SLOW, burst: 1 })),
    ],
  },
  {
    name: 'user and operation buckets of one key are apart',
    steps: [
      op('Op', { rate: SLOW, burst: 1 }, { kind: 'user' }),
      op('Op', { rate: SLOW, burst: 1 }),
      op('Op', { rate: SLOW, burst: 1 }, { kind: 'user' }),
    ],
  },
];

/** User ids are named as the tier names them: an HMAC under a key derived from the fleet's keys. */
const nameKey = randomBytes(32);
/** The bucket keys of a tier whose prefix is `p` (a prefix of its own for each test). */
const keysOf = (p: string): FleetKeys => new FleetKeys(p, 'ns', nameKey);

void describe('RedisQuotaStore', { skip: redisSkipReason() }, () => {
  let server: RedisServer;
  let client: Client;
  let other: Client;
  let runner: RedisRunner;
  let otherRunner: RedisRunner;
  let n = 0;
  /** A key prefix of its own for each test. */
  const prefix = (): string => `cib:t${++n}`;
  const runnerOf = (c: FleetRedisClient): RedisRunner =>
    new RedisRunner({ client: c, commandTimeoutMs: 5000, retryMs: 1000, log: logSink().logger });

  before(async () => {
    server = await startRedisServer();
    client = createClient({ url: server.url });
    other = createClient({ url: server.url });
    await Promise.all([client.connect(), other.connect()]);
    runner = runnerOf(client);
    otherRunner = runnerOf(other);
  });

  after(async () => {
    await Promise.allSettled([client.close(), other.close()]);
    await server.stop();
  });

  for (const c of CASES) {
    void it(`decides as the in-memory store: ${c.name}`, async () => {
      const memory = new InMemoryQuotaStore();
      const redis = new RedisQuotaStore({ runner, keys: keysOf(prefix()) });
      for (const [i, step] of c.steps.entries()) {
        if (step.do === 'refund') {
          memory.refund(step.kind, step.key, step.bucket, 0);
          await redis.refund(step.kind, step.key, step.bucket, 0);
          continue;
        }
        const expected = memory.take({ ...step.take, now: 0 });
        const got = await redis.take({ ...step.take, now: 0 });
        assert.equal(got.granted, expected.granted, `step ${i}`);
        if (!got.granted && !expected.granted) {
          // Redis's clock moved on a little since the bucket's last change: a little less to wait.
          assert.ok(Number.isSafeInteger(got.retryInMs), `step ${i}: ${got.retryInMs}`);
          assert.ok(got.retryInMs <= expected.retryInMs, `step ${i}: ${got.retryInMs} > ${expected.retryInMs}`);
          assert.ok(got.retryInMs > expected.retryInMs - 60_000, `step ${i}: ${got.retryInMs}`);
        }
      }
    });
  }

  void it('answers a plausible retryInMs, a whole number of ms ≥ 1', async () => {
    const store = new RedisQuotaStore({ runner, keys: keysOf(prefix()) });
    const bucket = { rate: 2, burst: 1 };
    assert.deepEqual(await store.take({ kind: 'operation', key: 'Op', bucket, floor: 0, now: 0 }), { granted: true });
    const r = await store.take({ kind: 'operation', key: 'Op', bucket, floor: 0, now: 0 });
    assert.equal(r.granted, false);
    assert.ok(Number.isSafeInteger(r.retryInMs) && r.retryInMs >= 1 && r.retryInMs <= 500, String(r.retryInMs));
  });

  void it('keeps one bucket for two instances: grants never exceed burst + rate × elapsed', async () => {
    const p = prefix();
    const stores = [
      new RedisQuotaStore({ runner, keys: keysOf(p) }),
      new RedisQuotaStore({ runner: otherRunner, keys: keysOf(p) }),
    ];
    const bucket = { rate: 50, burst: 5 };
    const granted = [0, 0];
    const start = performance.now();
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        stores.flatMap((store, s) =>
          Array.from({ length: 10 }, async () => {
            const r: QuotaTakeResult = await store.take({ kind: 'operation', key: 'Op', bucket, floor: 0, now: 0 });
            return { s, r };
          }),
        ),
      );
      for (const { s, r } of results) if (r.granted) granted[s] = (granted[s] ?? 0) + 1;
    }
    const elapsedMs = performance.now() - start;
    const total = (granted[0] ?? 0) + (granted[1] ?? 0);
    // Per-process buckets would grant 2 × burst at once; the shared one grants its burst, then its rate.
    assert.ok(total >= bucket.burst, `granted ${total}`);
    assert.ok(
      total <= Math.floor(bucket.burst + (bucket.rate * elapsedMs) / 1000 + 1e-9),
      `granted ${granted.join(' + ')} in ${elapsedMs.toFixed(1)} ms`,
    );
  });

  void it('keeps no user id in clear in Redis', async () => {
    const p = prefix();
    const store = new RedisQuotaStore({ runner, keys: keysOf(p) });
    const users = ['alice@example.com', 'Bob Smith'];
    for (const key of users)
      await store.take({ kind: 'user', key, bucket: { rate: SLOW, burst: 3 }, floor: 0, now: 0 });
    const keys = (await client.keys(`${p}*`)).sort();
    assert.deepEqual(keys, users.map((u) => keysOf(p).userBucket(u)).sort());
    const everything = [...(await client.keys('*'))];
    for (const key of keys) everything.push(...Object.entries(await client.hGetAll(key)).flat());
    for (const id of users) assert.ok(!everything.some((s) => s.includes(id)), `${id} found in Redis`);
  });

  void it('lets idle buckets expire once refilled, and drops a bucket refunded to full', async () => {
    const p = prefix();
    const store = new RedisQuotaStore({ runner, keys: keysOf(p) });
    const bucket = { rate: 2, burst: 10 };
    const capBucket = { rate: 0.5, burst: 2 };
    await store.take({
      kind: 'operation',
      key: 'Op',
      bucket,
      floor: 0,
      now: 0,
      cap: { key: 'Op#guest', bucket: capBucket },
    });
    await store.take({ kind: 'user', key: 'u', bucket, floor: 0, now: 0 });
    const bound = (b: BucketShape): number => (b.burst / b.rate) * 1000 + QUOTA_EXPIRY_MARGIN_MS;
    // One token short: refilled in 1 / rate s.
    for (const [key, b] of [
      [keysOf(p).operationBucket('Op'), bucket],
      [keysOf(p).operationBucket('Op#guest'), capBucket],
    ] as const) {
      const pttl = await client.pTTL(key);
      assert.ok(pttl > 0 && pttl <= 1000 / b.rate + QUOTA_EXPIRY_MARGIN_MS && pttl <= bound(b), `${key}: ${pttl}`);
    }
    const [userKey] = await client.keys(`${p}*:q:u`);
    assert.ok(userKey !== undefined);
    const userTtl = await client.pTTL(userKey);
    assert.ok(userTtl > 0 && userTtl <= bound(bucket), String(userTtl));
    await store.refund('user', 'u', bucket, 0);
    assert.equal(await client.exists(userKey), 0, 'a full bucket is the same as none');
  });

  void it('restarts a level stamped in the future at Redis time, refilling nothing', async () => {
    const p = prefix();
    const store = new RedisQuotaStore({ runner, keys: keysOf(p) });
    const key = keysOf(p).operationBucket('Op');
    const [sec, usec] = (await client.time()) as unknown as [string, string];
    const serverNow = Number(sec) * 1000 + Number(usec) / 1000;
    await client.hSet(key, { tokens: '0', at: String(serverNow + 3_600_000) });
    const r = await store.take({ kind: 'operation', key: 'Op', bucket: { rate: SLOW, burst: 1 }, floor: 0, now: 0 });
    assert.equal(r.granted, false);
    const at = Number(await client.hGet(key, 'at'));
    assert.ok(at < serverNow + 3_600_000, `at ${at} still in the future`);
    assert.equal(Number(await client.hGet(key, 'tokens')), 0);
    assert.ok((await client.pTTL(key)) > 0);
  });

  void it('runs again after SCRIPT FLUSH (NOSCRIPT: the source is sent again)', async () => {
    const store = new RedisQuotaStore({ runner, keys: keysOf(prefix()) });
    const bucket = { rate: SLOW, burst: 2 };
    assert.equal((await store.take({ kind: 'user', key: 'u', bucket, floor: 0, now: 0 })).granted, true);
    await client.sendCommand(['SCRIPT', 'FLUSH']);
    await store.refund('user', 'u', bucket, 0);
    await client.sendCommand(['SCRIPT', 'FLUSH']);
    assert.equal((await store.take({ kind: 'user', key: 'u', bucket, floor: 0, now: 0 })).granted, true);
    assert.equal((await store.take({ kind: 'user', key: 'u', bucket, floor: 0, now: 0 })).granted, true);
    assert.equal((await store.take({ kind: 'user', key: 'u', bucket, floor: 0, now: 0 })).granted, false);
    assert.equal(runner.errors, 0);
  });

  void it('propagates RedisUnavailable when Redis cannot be used', async () => {
    const closed = createClient({ url: server.url });
    await closed.connect();
    await closed.close();
    const store = new RedisQuotaStore({ runner: runnerOf(closed), keys: keysOf(prefix()) });
    const bucket = { rate: 1, burst: 1 };
    await assert.rejects(store.take({ kind: 'operation', key: 'Op', bucket, floor: 0, now: 0 }), RedisUnavailable);
    await assert.rejects(store.refund('operation', 'Op', bucket, 0), RedisUnavailable);
  });

  void it('refuses bad options and bad shapes with a TypeError naming them', async () => {
    assert.throws(
      () => new RedisQuotaStore({ runner: undefined as unknown as RedisRunner, keys: keysOf('p') }),
      /`runner`/,
    );
    assert.throws(() => new RedisQuotaStore({ runner, keys: 1 as unknown as FleetKeys }), /`keys`/);
    const store = new RedisQuotaStore({ runner, keys: keysOf(prefix()) });
    await assert.rejects(
      store.take({ kind: 'operation', key: 'Op', bucket: { rate: 0, burst: 1 }, floor: 0, now: 0 }),
      /`bucket\.rate`/,
    );
    await assert.rejects(
      store.take({
        kind: 'operation',
        key: 'Op',
        bucket: { rate: 1, burst: 1 },
        floor: 0,
        now: 0,
        cap: { key: 'c', bucket: { rate: 1, burst: Number.NaN } },
      }),
      /`cap\.bucket\.burst`/,
    );
  });
});
