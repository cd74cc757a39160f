import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Governor, refusalOf, type QuotaCaller } from '../../../../src/broker/quota/governor.js';
import { resolveQuotaOptions, type QuotaOptions } from '../../../../src/broker/quota/options.js';
import { InMemoryQuotaStore } from '../../../../src/broker/quota/store.js';
import { ManualTimers } from '../../../helpers/manual-timers.js';

const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

function governor(quota: QuotaOptions = {}): { gov: Governor; timers: ManualTimers } {
  const timers = new ManualTimers();
  const options = resolveQuotaOptions({ now: timers.now, perUser: false, ...quota }, 1000);
  if (options === undefined) throw new Error('quota off');
  return { gov: new Governor(options, timers), timers };
}

/** Admits one call and records its outcome: 'ok', or the refusal's code. */
function admit(
  gov: Governor,
  operation: string,
  caller: QuotaCaller | undefined,
  outcomes: string[],
  label: string,
  options: { signal?: AbortSignal; timeLeftMs?: number } = {},
): Promise<void> {
  return gov
    .admit(operation, caller, options.signal ?? new AbortController().signal, options.timeLeftMs ?? 60_000)
    .then(
      () => {
        outcomes.push(label);
      },
      (err: unknown) => {
        outcomes.push(`${label}:${refusalOf(err)?.code ?? (err as Error).message}`);
      },
    );
}

async function refusal(p: Promise<void>) {
  try {
    await p;
  } catch (err) {
    const mapped = refusalOf(err);
    if (mapped === undefined) throw err;
    return mapped;
  }
  throw new Error('expected a refusal');
}

void describe('quota governor', () => {
  void it('serves refreshes before first loads that waited longer, so a login storm cannot push a user past expiry', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 10, burst: 1 } }, maxWaitMs: 60_000 });
    const served: string[] = [];
    const storm = Array.from({ length: 100 }, (_, i) => admit(gov, TOKEN, { priority: 'load' }, served, `load${i}`));
    await timers.advance(0);
    const refreshes = Array.from({ length: 3 }, (_, i) =>
      admit(gov, TOKEN, { priority: 'refresh' }, served, `refresh${i}`),
    );
    // One token every 100 ms: the refreshes take the next three, whatever the storm.
    await timers.advance(300);
    assert.deepEqual(served, ['load0', 'refresh0', 'refresh1', 'refresh2']);
    await timers.advance(10_000);
    await Promise.all([...storm, ...refreshes]);
    assert.equal(served.length, 103);
    assert.deepEqual(served.slice(4, 7), ['load1', 'load2', 'load3'], 'first loads keep their order');
  });

  void it('leaves a quarter of the burst to higher priorities: first loads alone never take the last tokens', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 1, burst: 8 } }, maxWaitMs: 60_000 });
    const served: string[] = [];
    const loads = Array.from({ length: 8 }, (_, i) => admit(gov, TOKEN, { priority: 'load' }, served, `load${i}`));
    await timers.advance(0);
    assert.deepEqual(served, ['load0', 'load1', 'load2', 'load3', 'load4', 'load5']);
    await admit(gov, TOKEN, { priority: 'refresh' }, served, 'refresh');
    await admit(gov, TOKEN, { priority: 'account' }, served, 'account');
    assert.deepEqual(served.slice(6), ['refresh', 'account']);
    await timers.advance(10_000);
    await Promise.all(loads);
  });

  void it('caps guests at their share of GetCredentialsForIdentity while logged-in users get the rest', async () => {
    const { gov, timers } = governor({
      operations: { [CREDS]: { rate: 100, burst: 1 } },
      guestShare: 0.25,
      maxWaitMs: 60_000,
    });
    const served: string[] = [];
    const guests = Array.from({ length: 200 }, () => admit(gov, CREDS, { priority: 'guest' }, served, 'guest'));
    const users = Array.from({ length: 200 }, () => admit(gov, CREDS, { priority: 'load' }, served, 'user'));
    await timers.advance(1000);
    const guestsServed = served.filter((s) => s === 'guest').length;
    const usersServed = served.filter((s) => s === 'user').length;
    assert.ok(guestsServed <= 27, `guests got ${guestsServed} of ~100 tokens`);
    assert.ok(usersServed >= 70, `logged-in users got ${usersServed}`);
    await timers.advance(60_000);
    await Promise.all([...guests, ...users]);
  });

  void it('gives account operations their own share of the token bucket, above first loads', async () => {
    const { gov, timers } = governor({
      operations: { [TOKEN]: { rate: 50, burst: 1 } },
      accountShare: 0.2,
      maxWaitMs: 60_000,
    });
    const served: string[] = [];
    const loads = Array.from({ length: 100 }, () => admit(gov, TOKEN, { priority: 'load' }, served, 'load'));
    const links = Array.from({ length: 100 }, () => admit(gov, TOKEN, { priority: 'account' }, served, 'account'));
    await timers.advance(1000);
    const accounts = served.filter((s) => s === 'account').length;
    // Served before first loads but never more than their share (10/s + the cap's one token).
    assert.ok(accounts >= 9 && accounts <= 11, `account operations got ${accounts}`);
    assert.ok(served.filter((s) => s === 'load').length >= 35);
    await timers.advance(60_000);
    await Promise.all([...loads, ...links]);
  });

  void it('fails fast with ERR_COGNITO_THROTTLED and a Retry-After computed from the bucket', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 2, burst: 1 } }, maxWaitMs: 1000 });
    const signal = new AbortController().signal;
    await gov.admit(TOKEN, undefined, signal, 60_000);
    const waiting = [gov.admit(TOKEN, undefined, signal, 60_000), gov.admit(TOKEN, undefined, signal, 60_000)];
    // Two ahead at 2/s: this one would wait 1.5 s, past maxWaitMs.
    const refused = await refusal(gov.admit(TOKEN, undefined, signal, 60_000));
    assert.equal(refused.code, 'ERR_COGNITO_THROTTLED');
    assert.equal(refused.status, 503);
    assert.equal(refused.retryable, true);
    // The earliest a retry can be served: 1.5 s, less the 1 s it may wait in the queue.
    assert.equal(refused.retryAfterSeconds, 1);
    await timers.advance(1000);
    await Promise.all(waiting);

    const slow = governor({ operations: { [TOKEN]: { rate: 0.1, burst: 1 } }, maxWaitMs: 1000 });
    await slow.gov.admit(TOKEN, undefined, signal, 60_000);
    assert.equal((await refusal(slow.gov.admit(TOKEN, undefined, signal, 60_000))).retryAfterSeconds, 9);
    assert.deepEqual(slow.gov.stats().quotaRefused, { [TOKEN]: 1 });
  });

  void it('spreads the Retry-After of successive refusals over the backlog', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 2, burst: 1 } }, maxWaitMs: 1000 });
    const signal = new AbortController().signal;
    await gov.admit(TOKEN, undefined, signal, 60_000);
    const waiting = [gov.admit(TOKEN, undefined, signal, 60_000), gov.admit(TOKEN, undefined, signal, 60_000)];
    const retryAfter: (number | undefined)[] = [];
    for (let i = 0; i < 6; i += 1) {
      retryAfter.push((await refusal(gov.admit(TOKEN, undefined, signal, 60_000))).retryAfterSeconds);
    }
    // Slots from 1.5 s on, at twice the bucket's pace (every 0.25 s), each less the 1 s a retry may wait.
    assert.deepEqual(retryAfter, [1, 1, 1, 2, 2, 2]);
    await timers.advance(1000);
    await Promise.all(waiting);
  });

  void it('never waits past what is left of the call’s timeout', async () => {
    const { gov } = governor({ operations: { [TOKEN]: { rate: 2, burst: 1 } }, maxWaitMs: 1000 });
    const signal = new AbortController().signal;
    await gov.admit(TOKEN, undefined, signal, 60_000);
    const refused = await refusal(gov.admit(TOKEN, undefined, signal, 300));
    assert.equal(refused.code, 'ERR_COGNITO_THROTTLED');
  });

  void it('refuses a waiter at maxWaitMs when higher priorities took its turn', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 10, burst: 1 } }, maxWaitMs: 250 });
    const outcomes: string[] = [];
    await admit(gov, TOKEN, { priority: 'load' }, outcomes, 'first');
    const load = admit(gov, TOKEN, { priority: 'load' }, outcomes, 'load');
    const refreshes = [0, 1].map((i) => admit(gov, TOKEN, { priority: 'refresh' }, outcomes, `refresh${i}`));
    await timers.advance(300);
    await Promise.all([load, ...refreshes]);
    assert.deepEqual(outcomes, ['first', 'refresh0', 'refresh1', 'load:ERR_COGNITO_THROTTLED']);
  });

  void it('rejects a wait with the signal’s reason when it aborts, and hands its turn on', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 10, burst: 1 } }, maxWaitMs: 5000 });
    const outcomes: string[] = [];
    await admit(gov, TOKEN, undefined, outcomes, 'first');
    const controller = new AbortController();
    const aborted = admit(gov, TOKEN, undefined, outcomes, 'aborted', { signal: controller.signal });
    const next = admit(gov, TOKEN, undefined, outcomes, 'next');
    await timers.advance(50);
    controller.abort(new Error('cache entry dropped while loading'));
    await timers.advance(50);
    await Promise.all([aborted, next]);
    assert.deepEqual(outcomes, ['first', 'aborted:cache entry dropped while loading', 'next']);
    assert.deepEqual(gov.stats().quotaRefused, {}, 'an abort is no refusal');
  });

  void it('takes a token for each further attempt of an admitted call (the SDK’s retries), and none for others', async () => {
    const { gov, timers } = governor({ operations: { [TOKEN]: { rate: 1, burst: 2 } }, maxWaitMs: 0 });
    const signal = new AbortController().signal;
    await gov.admit(TOKEN, { priority: 'refresh' }, signal, 60_000);
    await gov.retry(signal);
    assert.equal((await refusal(gov.retry(signal) ?? Promise.resolve())).code, 'ERR_COGNITO_THROTTLED');
    assert.equal(gov.retry(new AbortController().signal), undefined, 'a signal never admitted');
    await timers.advance(1000);
    await gov.retry(signal);
    assert.deepEqual(gov.stats().quotaRefused, { [TOKEN]: 1 });
  });

  void it('does not govern an operation configured false', async () => {
    const { gov } = governor({ operations: { [TOKEN]: false }, maxWaitMs: 0 });
    const signal = new AbortController().signal;
    for (let i = 0; i < 100; i += 1) await gov.admit(TOKEN, undefined, signal, 60_000);
    assert.deepEqual(gov.stats().quotaRefused, {});
  });
});

void describe('quota governor: the per-user budget', () => {
  void it('answers ERR_RATE_LIMITED (429) past callsPerMinute with a Retry-After from the user’s bucket', async () => {
    const roomy = { rate: 1000, burst: 100 };
    const { gov, timers } = governor({
      perUser: { callsPerMinute: 3 },
      operations: { [TOKEN]: roomy, [CREDS]: roomy },
    });
    const signal = new AbortController().signal;
    await gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000);
    await gov.admit(CREDS, { userId: 'alice' }, signal, 60_000);
    const limited = await refusal(gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000));
    assert.equal(limited.code, 'ERR_RATE_LIMITED');
    assert.equal(limited.status, 429);
    // Three a minute, two at once: the next one in 60 s.
    assert.equal(limited.retryAfterSeconds, 60);
    await gov.admit(TOKEN, { userId: 'bob' }, signal, 60_000);
    await gov.admit(TOKEN, { userId: 'alice', priority: 'refresh' }, signal, 60_000);
    assert.deepEqual(gov.stats().userBudgetRefused, { [TOKEN]: 1 });
    await timers.advance(60_000);
    await gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000);
  });

  void it('refills the smallest budget (callsPerMinute 2): a finite Retry-After, and a call again after it', async () => {
    const roomy = { rate: 1000, burst: 100 };
    const { gov, timers } = governor({ perUser: { callsPerMinute: 2 }, operations: { [TOKEN]: roomy } });
    const signal = new AbortController().signal;
    let admitted = 0;
    let limited: Awaited<ReturnType<typeof refusal>> | undefined;
    while (limited === undefined && admitted <= 2) {
      try {
        await gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000);
        admitted += 1;
      } catch (err) {
        limited = refusalOf(err);
      }
    }
    assert.equal(limited?.code, 'ERR_RATE_LIMITED');
    // Two a minute, one at once: the next one in 60 s (not never).
    assert.equal(limited.retryAfterSeconds, 60);
    assert.equal(admitted, 1);
    await timers.advance(60_000);
    await gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000);
  });

  void it('gives the user’s token back when the operation’s bucket refuses the call', async () => {
    const { gov, timers } = governor({
      perUser: { callsPerMinute: 4 },
      operations: { [TOKEN]: { rate: 0.1, burst: 1 } },
      maxWaitMs: 0,
    });
    const signal = new AbortController().signal;
    await gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000);
    for (let i = 0; i < 3; i += 1) {
      assert.equal(
        (await refusal(gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000))).code,
        'ERR_COGNITO_THROTTLED',
      );
    }
    await timers.advance(10_000);
    await gov.admit(TOKEN, { userId: 'alice' }, signal, 60_000);
    assert.deepEqual(gov.stats().userBudgetRefused, {});
  });
});

void describe('quota options', () => {
  const cases: [unknown, RegExp][] = [
    ['on', /quota must be an object or false/],
    [{ operations: { GetId: -1 } }, /quota\.operations\.GetId must be a quota/],
    [{ operations: { GetId: { rate: 0, burst: 1 } } }, /quota\.operations\.GetId\.rate/],
    [{ operations: { GetId: { rate: 1, burst: 0.5 } } }, /quota\.operations\.GetId\.burst/],
    [{ operations: { 'no such op': 5 } }, /quota\.operations has a key/],
    [{ maxWaitMs: 1.5 }, /quota\.maxWaitMs/],
    [{ maxWaitMs: -1 }, /quota\.maxWaitMs/],
    [{ accountShare: 0 }, /quota\.accountShare/],
    [{ guestShare: 2 }, /quota\.guestShare/],
    [{ perUser: { callsPerMinute: 1 } }, /quota\.perUser\.callsPerMinute/],
    [{ perUser: { perMinute: 10 } }, /quota\.perUser has an unknown field/],
    [{ store: {} }, /quota\.store/],
    [{ now: 5 }, /quota\.now/],
    [{ burst: 5 }, /quota has an unknown option "burst"/],
  ];
  for (const [value, message] of cases) {
    void it(`refuses ${JSON.stringify(value)} with a TypeError naming the option`, () => {
      assert.throws(
        () => resolveQuotaOptions(value, 10),
        (err: unknown) => err instanceof TypeError && message.test(err.message),
      );
    });
  }

  void it('is off with false and on with the documented quotas by default', () => {
    assert.equal(resolveQuotaOptions(false, 10), undefined);
    const o = resolveQuotaOptions(undefined, 10);
    if (o === undefined) throw new Error('the governor is on by default');
    assert.deepEqual(o.buckets.get(TOKEN), { burst: 2, rate: (50 - 2) * 0.98 });
    assert.equal(o.maxWaitMs, 1000);
    assert.deepEqual(o.perUser, { burst: 20, rate: 10 / 60 });
  });
});

void describe('quota governor: a failing store', () => {
  void it('serves its waiters again after the store fails, with no unhandled rejection', async () => {
    let failures = 1;
    let takes = 0;
    const memory = new InMemoryQuotaStore();
    const store = {
      take: (t: Parameters<InMemoryQuotaStore['take']>[0]) => {
        takes += 1;
        // The queue pump’s first take (after the two calls’ own) fails, as a shared store’s may.
        if (takes === 3 && failures-- > 0) return Promise.reject(new Error('store connection lost'));
        return memory.take(t);
      },
      refund: (...args: Parameters<InMemoryQuotaStore['refund']>) => {
        memory.refund(...args);
      },
    };
    const { gov, timers } = governor({
      operations: { GetOpenIdTokenForDeveloperIdentity: { rate: 1, burst: 1 } },
      maxWaitMs: 5000,
      store,
    });
    const signal = new AbortController().signal;
    await gov.admit('GetOpenIdTokenForDeveloperIdentity', undefined, signal, 10_000);
    let second = 'waiting';
    const waiting = gov.admit('GetOpenIdTokenForDeveloperIdentity', undefined, signal, 10_000).then(
      () => (second = 'ok'),
      (err: unknown) => (second = String(err)),
    );
    for (let i = 0; i < 40 && second === 'waiting'; i++) await timers.advance(100);
    await waiting;
    assert.equal(second, 'ok');
    assert.ok(takes >= 4, 'the queue was served again after the failed take');
  });
});
