// The governor's fairness and its Retry-After: a queue per user served in turn within a priority,
// a Retry-After that stays bounded under a flood, and one that stays accurate when several
// instances' governors share the buckets (a fleet).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Governor, refusalOf } from '../../../../src/broker/quota/governor.js';
import { resolveQuotaOptions, type QuotaOptions } from '../../../../src/broker/quota/options.js';
import { InMemoryQuotaStore, type QuotaStore } from '../../../../src/broker/quota/store.js';
import { ManualTimers } from '../../../helpers/manual-timers.js';

const DESCRIBE = 'DescribeIdentity';

function governor(timers: ManualTimers, quota: QuotaOptions = {}): Governor {
  const options = resolveQuotaOptions({ now: timers.now, perUser: false, ...quota }, 1000);
  if (options === undefined) throw new Error('quota off');
  return new Governor(options, timers);
}

/** Admits one call of `user`, recording `user` in `served` when it gets its token. */
function call(gov: Governor, user: string, served: string[], refused: string[]): Promise<void> {
  return gov.admit(DESCRIBE, { userId: user }, new AbortController().signal, 600_000).then(
    () => {
      served.push(user);
    },
    (err: unknown) => {
      if (refusalOf(err) === undefined) throw err;
      refused.push(user);
    },
  );
}

void describe('quota governor: fairness between users', () => {
  void it('20 users with 20 calls queued each do not hold back others: every user is served in turn', async () => {
    const timers = new ManualTimers();
    const gov = governor(timers, { operations: { [DESCRIBE]: { rate: 10, burst: 1 } }, maxWaitMs: 60_000 });
    const served: string[] = [];
    const refused: string[] = [];
    const calls: Promise<void>[] = [];
    for (let u = 0; u < 20; u++) for (let i = 0; i < 20; i++) calls.push(call(gov, `heavy${u}`, served, refused));
    await timers.advance(0);
    for (let u = 0; u < 10; u++) calls.push(call(gov, `light${u}`, served, refused));
    // One turn each: the 20 heavy users' next calls, then the light ones.
    await timers.advance(3100);
    const light = served.filter((u) => u.startsWith('light')).length;
    assert.equal(light, 10, `light users served in the first ${served.length}: ${light}`);
    await timers.advance(60_000);
    await Promise.all(calls);
    assert.equal(served.length, 410);
    assert.deepEqual(refused, []);
  });

  void it("a user's own calls keep their order, and a user alone is served as before", async () => {
    const timers = new ManualTimers();
    const gov = governor(timers, { operations: { [DESCRIBE]: { rate: 10, burst: 1 } }, maxWaitMs: 60_000 });
    const order: number[] = [];
    const calls = Array.from({ length: 5 }, (_, i) =>
      gov.admit(DESCRIBE, { userId: 'u' }, new AbortController().signal, 600_000).then(() => order.push(i)),
    );
    await timers.advance(1000);
    await Promise.all(calls);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });

  void it('a newcomer waits for one turn of each user ahead, not their whole backlog: admitted, not refused', async () => {
    const timers = new ManualTimers();
    const gov = governor(timers, { operations: { [DESCRIBE]: { rate: 10, burst: 1 } }, maxWaitMs: 5000 });
    const served: string[] = [];
    const refused: string[] = [];
    // 5 users, 8 calls each within 5 s of waiting at 10/s: 40 waiters, 4 s of backlog.
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 8; i++) for (let u = 0; u < 5; u++) calls.push(call(gov, `heavy${u}`, served, refused));
    await timers.advance(0);
    calls.push(call(gov, 'newcomer', served, refused));
    await timers.advance(1000);
    assert.ok(served.includes('newcomer'), `served ${served.join(',')}`);
    await timers.advance(60_000);
    await Promise.all(calls);
  });
});

void describe('quota governor: Retry-After', () => {
  /** The largest Retry-After of `refusals` refusals (of `client(i)`) over 10 s, and a victim's refusal after them. */
  async function flood(refusals: number, client: (i: number) => string): Promise<{ most: number; victim: number }> {
    const timers = new ManualTimers();
    const gov = governor(timers, { operations: { [DESCRIBE]: { rate: 10, burst: 1 } }, maxWaitMs: 1000 });
    const signal = new AbortController().signal;
    const outcomes: Promise<number>[] = [];
    const admit = (user: string): Promise<number> =>
      gov.admit(DESCRIBE, { userId: user }, signal, 60_000).then(
        () => 0,
        (err: unknown) => refusalOf(err)?.retryAfterSeconds ?? 0,
      );
    for (let i = 0; i < refusals; i++) {
      if (i % (refusals / 100) === 0) await timers.advance(100);
      outcomes.push(admit(client(i)));
    }
    const victim = admit('victim');
    await timers.advance(60_000);
    return { most: Math.max(...(await Promise.all(outcomes))), victim: await victim };
  }

  void it('stays bounded under a flood: 20 clients refused 2,000 times in 10 s hold 20 slots, not 2,000', async () => {
    const { most, victim } = await flood(2000, (i) => `flooder${i % 20}`);
    assert.ok(victim >= 1, 'the victim is refused: the bucket is busy');
    // The queue (≤ 1 s), then 20 slots at twice the bucket's pace, less the 1 s a retry may wait.
    assert.ok(most <= 3 && victim <= 3, `told to come back in ${most} s, the victim in ${victim} s`);
  });

  void it('stays bounded under a flood of 2,000 distinct clients: at most 30 s of spread', async () => {
    const { most, victim } = await flood(2000, (i) => `client${i}`);
    assert.ok(most <= 31 && victim <= 31, `told to come back in ${most} s, the victim in ${victim} s`);
  });

  /**
   * Clients that each make one call and retry when told (Retry-After), over `governors` governors
   * sharing one store; the refusals per client until every client is served.
   */
  async function retriesPerClient(governors: number, clients: number): Promise<number> {
    const timers = new ManualTimers();
    const memory = new InMemoryQuotaStore({ now: timers.now });
    const store: QuotaStore = {
      take: (t) => memory.take(t),
      refund: (...args) => {
        memory.refund(...args);
      },
      sharedBy: governors,
    };
    const govs = Array.from({ length: governors }, () =>
      governor(timers, { operations: { [DESCRIBE]: { rate: 10, burst: 1 } }, maxWaitMs: 1000, store }),
    );
    let refusals = 0;
    let done = 0;
    const attempt = (n: number): void => {
      const gov = govs[n % governors];
      if (gov === undefined) return;
      gov.admit(DESCRIBE, { userId: `c${n}` }, new AbortController().signal, 60_000).then(
        () => (done += 1),
        (err: unknown) => {
          refusals += 1;
          timers.setTimeout(
            () => {
              attempt(n);
            },
            (refusalOf(err)?.retryAfterSeconds ?? 1) * 1000,
          );
        },
      );
    };
    for (let n = 0; n < clients; n++) attempt(n);
    for (let t = 0; t < 600 && done < clients; t++) await timers.advance(100);
    assert.equal(done, clients);
    return refusals / clients;
  }

  void it('stays accurate in a fleet: clients of 3 instances retry about as often as those of one', async (t) => {
    const single = await retriesPerClient(1, 240);
    const fleet = await retriesPerClient(3, 240);
    t.diagnostic(`retries per client: fleet ${fleet.toFixed(2)}, one process ${single.toFixed(2)}`);
    assert.ok(fleet <= single * 1.25 + 0.1, `retries per client: fleet ${fleet}, one process ${single}`);
  });

  void it('in a fleet, an instance alone with waiters is not refused for the others’ share it does not use', async () => {
    const timers = new ManualTimers();
    const memory = new InMemoryQuotaStore({ now: timers.now });
    const store: QuotaStore = {
      take: (t) => memory.take(t),
      refund: (...args) => {
        memory.refund(...args);
      },
      sharedBy: 3,
    };
    const gov = governor(timers, { operations: { [DESCRIBE]: { rate: 10, burst: 1 } }, maxWaitMs: 1000, store });
    const served: string[] = [];
    const refused: string[] = [];
    // Nine calls: the whole bucket serves them within maxWaitMs; a third of it would not.
    const calls = Array.from({ length: 9 }, (_, i) => call(gov, `u${i}`, served, refused));
    await timers.advance(2000);
    await Promise.all(calls);
    assert.deepEqual(refused, []);
    assert.equal(served.length, 9);
  });
});
