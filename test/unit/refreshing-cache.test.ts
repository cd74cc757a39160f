import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../src/index.js';
import { RefreshingCache, type CacheEntryTimes } from '../../src/broker/refreshing-cache.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { rejectionOf } from '../helpers/broker-fixture.js';

void describe('refreshing cache', () => {
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
