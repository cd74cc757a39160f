import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerError, isBrokerError } from '../../../src/index.js';
import { RefreshingCache, type CacheEntryTimes } from '../../../src/broker/refreshing-cache.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { rejectionOf, settle, stateOf } from '../../helpers/broker-fixture.js';

interface Entry extends CacheEntryTimes {
  readonly n: number;
}

/** A load the test settles by hand, with the signal and stale entry it was given. */
interface PendingLoad {
  readonly key: string;
  readonly signal: AbortSignal;
  readonly stale: Entry | undefined;
  resolve(value: Entry): void;
  reject(err: Error): void;
}

/** A cache over a manual clock whose loads wait until the test settles them. */
function harness(max = 10) {
  const clock = new ManualClock();
  const loads: PendingLoad[] = [];
  let n = 0;
  const cache = new RefreshingCache<Entry, object>({
    max,
    clock,
    load: (key, _context, signal, stale) =>
      new Promise<Entry>((resolve, reject) => {
        loads.push({ key, signal, stale, resolve, reject });
      }),
  });
  /** An entry valid for `validMs` from now, refreshed after `refreshMs`. */
  const entry = (validMs = 10_000, refreshMs = 8_000): Entry => {
    n += 1;
    return { n, validUntil: clock.now() + validMs, refreshAt: clock.now() + refreshMs };
  };
  /** Settles the oldest unsettled load with a fresh entry. */
  const answer = (value: Entry = entry()): Entry => {
    const load = loads.shift();
    assert.ok(load !== undefined, 'a load is running');
    load.resolve(value);
    return value;
  };
  return { clock, cache, loads, entry, answer };
}

void describe('refreshing cache', () => {
  void it('serves concurrent reads of a missing key with one load', async () => {
    const { cache, loads, answer } = harness();
    const reads = Array.from({ length: 5 }, () => cache.get('k', {}));
    await settle();
    assert.equal(loads.length, 1);
    const value = answer();
    const got = await Promise.all(reads);
    for (const read of got) {
      assert.equal(read.value, value);
      assert.equal(read.hit, false);
    }
    assert.equal(cache.stats().misses, 5);
    const again = await cache.get('k', {});
    assert.deepEqual([again.value, again.hit], [value, true]);
    assert.equal(cache.stats().hits, 1);
  });

  void it('serves the old entry at once after its refresh point and refreshes it once in the background', async () => {
    const { clock, cache, loads, answer, entry } = harness();
    const first = cache.get('k', {});
    await settle();
    const old = answer(entry(10_000, 8_000));
    await first;
    clock.advance(8_500);
    const during = await Promise.all([cache.get('k', {}), cache.get('k', {}), cache.get('k', {})]);
    for (const read of during) assert.deepEqual([read.value, read.hit], [old, true]);
    await settle();
    assert.equal(loads.length, 1, 'one background refresh');
    assert.equal(loads[0]?.stale, old, 'the refresh sees the entry it replaces');
    assert.equal(cache.stats().refreshes, 1);
    const fresh = answer();
    await settle();
    assert.equal((await cache.get('k', {})).value, fresh);
  });

  void it('never serves an entry past its validity: a read waits for the load instead', async () => {
    const { clock, cache, answer, entry } = harness();
    const first = cache.get('k', {});
    await settle();
    const old = answer(entry(10_000, 9_000));
    await first;
    clock.advance(10_000);
    assert.equal(cache.peekValid('k'), undefined);
    assert.equal(cache.getFresh('k'), undefined);
    assert.equal(cache.peek('k'), old, 'peek still shows it, e.g. to learn an id');
    const read = cache.get('k', {});
    await settle();
    assert.equal(await stateOf(read), 'pending');
    const fresh = answer();
    const got = await read;
    assert.deepEqual([got.value, got.hit], [fresh, false]);
  });

  void it('hands a failed load to every waiter and caches nothing', async () => {
    const { cache, loads, answer } = harness();
    const reads = [cache.get('k', {}), cache.get('k', {})];
    await settle();
    loads.shift()?.reject(new BrokerError('ERR_COGNITO_THROTTLED', 'slow down'));
    for (const read of reads) {
      const err = await rejectionOf(read);
      assert.ok(isBrokerError(err));
      assert.equal(err.code, 'ERR_COGNITO_THROTTLED');
    }
    assert.equal(cache.stats().size, 0);
    const retry = cache.get('k', {});
    await settle();
    assert.equal(loads.length, 1, 'the next read loads again');
    const value = answer();
    assert.equal((await retry).value, value);
  });

  void it('keeps serving a still-valid entry when its background refresh fails, and pauses before the next', async () => {
    const { clock, cache, loads, answer, entry } = harness();
    const first = cache.get('k', {});
    await settle();
    const old = answer(entry(60_000, 30_000));
    await first;
    clock.advance(31_000);
    assert.equal((await cache.get('k', {})).value, old);
    await settle();
    loads.shift()?.reject(new BrokerError('ERR_COGNITO_UNAVAILABLE', 'down'));
    await settle();
    assert.equal((await cache.get('k', {})).value, old);
    await settle();
    assert.equal(loads.length, 0, 'no new refresh during the pause');
    clock.advance(3_000);
    assert.equal((await cache.get('k', {})).value, old);
    await settle();
    assert.equal(loads.length, 1, 'a refresh after the pause');
  });

  void it('evicts the least recently used entry beyond max and counts it', async () => {
    const { cache, answer } = harness(2);
    for (const key of ['a', 'b', 'c']) {
      const read = cache.get(key, {});
      await settle();
      answer();
      await read;
    }
    const stats = cache.stats();
    assert.equal(stats.size, 2);
    assert.equal(stats.evictions, 1);
    assert.equal(cache.peek('a'), undefined);
    assert.notEqual(cache.peek('c'), undefined);
  });

  void it('cancels a load whose key is dropped, and its waiters get the value of a new load', async () => {
    const { cache, loads, answer } = harness();
    const read = cache.get('k', {});
    await settle();
    const dropped = loads.shift();
    assert.ok(dropped !== undefined);
    cache.delete('k');
    assert.equal(dropped.signal.aborted, true, 'the load is told to stop');
    dropped.resolve({ n: -1, validUntil: Number.MAX_SAFE_INTEGER, refreshAt: Number.MAX_SAFE_INTEGER });
    await settle();
    assert.equal(loads.length, 1, 'the waiter starts a new load');
    const fresh = answer();
    assert.equal((await read).value, fresh, 'never the value of the cancelled load');
  });

  void it('rejects a reader whose own signal aborts, while the shared load goes on for the others', async () => {
    const { cache, loads, answer } = harness();
    const controller = new AbortController();
    const impatient = cache.get('k', {}, controller.signal);
    const patient = cache.get('k', {});
    await settle();
    controller.abort(new Error('client went away'));
    assert.equal(((await rejectionOf(impatient)) as Error).message, 'client went away');
    assert.equal(loads[0]?.signal.aborted, false);
    const value = answer();
    assert.equal((await patient).value, value);
  });

  void it('answers a retryable 503, not a 500, when every load of a key is cancelled before it settles', async () => {
    const clock = new ManualClock();
    let loads = 0;
    const cache: RefreshingCache<CacheEntryTimes, object> = new RefreshingCache<CacheEntryTimes, object>({
      max: 10,
      clock,
      load: (key) => {
        loads += 1;
        // The entry is dropped (an invalidation) while its load runs, every time.
        queueMicrotask(() => {
          cache.delete(key);
        });
        return new Promise((resolve) => {
          setImmediate(() => {
            resolve({ validUntil: clock.now() + 1000, refreshAt: clock.now() + 500 });
          });
        });
      },
    });
    const err = await rejectionOf(cache.get('k', {}));
    assert.ok(isBrokerError(err), String(err));
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.notEqual(err.code, 'ERR_INTERNAL');
    assert.equal(loads, 4, 'bounded retries');
    assert.equal(cache.stats().size, 0);
  });
});
