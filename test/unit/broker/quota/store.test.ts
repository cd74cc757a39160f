import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketForQuota, DOCUMENTED_QUOTAS } from '../../../../src/broker/quota/options.js';
import { InMemoryQuotaStore, type BucketShape, type QuotaTake } from '../../../../src/broker/quota/store.js';

const take = (bucket: BucketShape, now: number, extra: Partial<QuotaTake> = {}): QuotaTake => ({
  kind: 'operation',
  key: 'Op',
  bucket,
  floor: 0,
  now,
  ...extra,
});

/** Grant times of a greedy caller taking every token as soon as it is there, over `ms`. */
function saturate(bucket: BucketShape, ms: number): number[] {
  const store = new InMemoryQuotaStore();
  const granted: number[] = [];
  for (let t = 0; t <= ms; t += 1) {
    while (store.take(take(bucket, t)).granted) granted.push(t);
  }
  return granted;
}

/** The most grants in any window (t − windowMs, t]. */
function mostInWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while ((times[start] ?? 0) <= (times[end] ?? 0) - windowMs) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

void describe('quota store (in memory)', () => {
  void it('starts full, refills at its rate and never holds more than its burst', () => {
    const store = new InMemoryQuotaStore();
    const bucket = { rate: 2, burst: 3 };
    for (let i = 0; i < 3; i += 1) assert.equal(store.take(take(bucket, 0)).granted, true);
    assert.deepEqual(store.take(take(bucket, 0)), { granted: false, retryInMs: 500 });
    assert.equal(store.take(take(bucket, 500)).granted, true);
    // A long idle time refills to the burst, not beyond.
    for (let i = 0; i < 3; i += 1) assert.equal(store.take(take(bucket, 60_000)).granted, true);
    assert.equal(store.take(take(bucket, 60_000)).granted, false);
  });

  void it('leaves `floor` tokens for higher priorities and says when it could grant', () => {
    const store = new InMemoryQuotaStore();
    const bucket = { rate: 1, burst: 4 };
    assert.equal(store.take(take(bucket, 0, { floor: 2 })).granted, true);
    assert.equal(store.take(take(bucket, 0, { floor: 2 })).granted, true);
    assert.deepEqual(store.take(take(bucket, 0, { floor: 2 })), { granted: false, retryInMs: 1000 });
    assert.equal(store.take(take(bucket, 0)).granted, true, 'the highest priority still gets one');
  });

  void it('takes from the cap and the bucket together, or from neither', () => {
    const store = new InMemoryQuotaStore();
    const bucket = { rate: 10, burst: 5 };
    const cap = { key: 'Op#guest', bucket: { rate: 1, burst: 1 } };
    assert.equal(store.take(take(bucket, 0, { cap })).granted, true);
    assert.deepEqual(store.take(take(bucket, 0, { cap })), { granted: false, retryInMs: 1000 });
    // The refused take left the bucket alone: four tokens remain for uncapped takers.
    for (let i = 0; i < 4; i += 1) assert.equal(store.take(take(bucket, 0)).granted, true);
    assert.equal(store.take(take(bucket, 0)).granted, false);
  });

  void it('refills nothing when the time goes back', () => {
    const store = new InMemoryQuotaStore();
    const bucket = { rate: 1, burst: 1 };
    assert.equal(store.take(take(bucket, 10_000)).granted, true);
    assert.equal(store.take(take(bucket, 5_000)).granted, false);
    assert.equal(store.take(take(bucket, 5_500)).granted, false);
    assert.equal(store.take(take(bucket, 6_000)).granted, true);
  });

  void it('puts a refunded token back, up to the burst', () => {
    const store = new InMemoryQuotaStore();
    const bucket = { rate: 0.001, burst: 1 };
    assert.equal(store.take(take(bucket, 0, { kind: 'user', key: 'u' })).granted, true);
    store.refund('user', 'u', bucket, 0);
    store.refund('user', 'u', bucket, 0);
    assert.equal(store.take(take(bucket, 0, { kind: 'user', key: 'u' })).granted, true);
    assert.equal(store.take(take(bucket, 0, { kind: 'user', key: 'u' })).granted, false);
  });

  void it('lets no more than the quota through in any one-second window, for every documented quota', () => {
    for (const [operation, quota] of Object.entries(DOCUMENTED_QUOTAS)) {
      const bucket = bucketForQuota(quota);
      const granted = saturate(bucket, 10_000);
      assert.ok(mostInWindow(granted, 1000) <= quota, `${operation}: ${mostInWindow(granted, 1000)} > ${quota}`);
      // Sends that reach Cognito up to 20 ms late still fit: a window 1.02 s wide holds no more.
      assert.ok(mostInWindow(granted, 1020) <= quota, `${operation} with 20 ms of jitter`);
      // And the quota is used: over 10 s, at least 93 % of it (75 % for the smallest, where the
      // single token of burst is a fifth of the quota).
      const used = quota >= 25 ? 0.93 : 0.75;
      assert.ok(granted.length >= quota * 10 * used, `${operation}: ${granted.length} in 10 s`);
    }
  });

  void it('derives 50 rps into burst 2 and rate 47.04/s', () => {
    const { rate, burst } = bucketForQuota(50);
    assert.equal(burst, 2);
    assert.ok(Math.abs(rate - 47.04) < 1e-9);
  });
});

void describe('quota store (in memory): user buckets', () => {
  void it('forgets user buckets once they have refilled, and only those', () => {
    let now = 0;
    const store = new InMemoryQuotaStore({ now: () => now });
    const bucket = { rate: 1, burst: 2 };
    for (let u = 0; u < 1000; u++) store.take({ kind: 'user', key: `u${u}`, bucket, floor: 0, now });
    // A second take for one user: two tokens to refill, 2 s.
    store.take({ kind: 'user', key: 'u0', bucket, floor: 0, now });
    assert.equal(store.userBuckets, 1000);
    now = 1000;
    store.sweep();
    assert.equal(store.userBuckets, 1, 'the users who took one token are full again after 1 s');
    // The remaining bucket still holds its debt: one token at 1 s.
    assert.equal(store.take({ kind: 'user', key: 'u0', bucket, floor: 0, now }).granted, true);
    assert.equal(store.take({ kind: 'user', key: 'u0', bucket, floor: 0, now }).granted, false);
    now = 3000;
    store.sweep();
    assert.equal(store.userBuckets, 0);
  });
});
