// A Redis writer against the fleet's own keys: a key of the wrong type refuses changes before Cognito
// and drops the caches; a genuine change record moved to another number does not open; oversized
// values and records are never read into the process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../src/index.js';
import { connectRedis, singleNodeOnly, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = singleNodeOnly('a hostile writer of raw keys on the one server');
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const UNLINK = 'UnlinkDeveloperIdentity';

async function eventually(condition: () => boolean | Promise<boolean>, what = '', rounds = 250): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`condition not met in time: ${what}`);
}

/** The peak RSS growth (bytes) while `work` runs, sampled every few ms. */
async function peakGrowth(work: () => Promise<unknown>): Promise<number> {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await work();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - rss0;
}

void describe('fleet: a writer of the fleet keys', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('a change log of the wrong type: the unlink is refused before Cognito, the caches are dropped', async () => {
    const fast = { prefix: 'wt', syncIntervalMs: 100 };
    const a = await stack.instance({}, fast);
    const b = await stack.instance({}, fast);
    a.broker.forgetUser('wt-warm@example.com');
    await eventually(async () => (await stack.admin.keys('wt:*:changes')).length === 1);
    const victim = 'wt-victim@example.com';
    const old = (await b.broker.getToken(victim)).identityId;
    const [stateKey = ''] = await stack.admin.keys('wt:*:changes');
    const drops = b.broker.stats().fleet?.resyncDrops ?? 0;
    await stack.admin.del(`${stateKey}:log`);
    await stack.admin.set(`${stateKey}:log`, 'x');
    const unlinks = stack.calls()[UNLINK] ?? 0;
    const err: unknown = await a.broker.unlinkDeveloperUser(victim).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isBrokerError(err) && err.code === 'ERR_FLEET_UNAVAILABLE', String(err));
    assert.equal(stack.calls()[UNLINK] ?? 0, unlinks, 'Cognito not called');
    // Nothing changed at Cognito; b dropped its cache on seeing the key (not an outage).
    assert.deepEqual((await a.broker.lookupUsers(old)).userIds, [victim]);
    await eventually(() => (b.broker.stats().fleet?.resyncDrops ?? 0) > drops);
    assert.equal(a.broker.stats().fleet?.state, 'shared');
    assert.equal((await b.broker.getToken(victim)).identityId, old);
  });

  void it("a user's entries of the wrong type: read as missing, the change is still recorded, the others learn it", async () => {
    const fast = { prefix: 'gt', syncIntervalMs: 100 };
    const a = await stack.instance({}, fast);
    const b = await stack.instance({}, fast);
    const victim = 'gt-victim@example.com';
    const old = (await b.broker.getToken(victim)).identityId;
    // The victim's shared entries (the only user loaded) made strings by a writer.
    const entries = await stack.admin.keys('gt:*:e:*');
    assert.ok(entries.length >= 1);
    for (const key of entries) {
      await stack.admin.del(key);
      await stack.admin.set(key, 'x');
    }
    await a.broker.unlinkDeveloperUser(victim);
    await eventually(async () => (await b.broker.getToken(victim)).identityId !== old, 'b serves the new identity');
    assert.notEqual((await a.broker.getToken(victim)).identityId, old);
    assert.equal(a.broker.stats().fleet?.state, 'shared');
    assert.equal(b.broker.stats().fleet?.state, 'shared');
  });

  void it('a genuine record moved to the number of a newer change: the others drop their cache', async () => {
    const fast = { prefix: 'sw', syncIntervalMs: 200 };
    const a = await stack.instance({}, fast);
    // b loses its wake-ups (a subscriber that never subscribes), so the periodic check stands in.
    const real = await connectRedis(stack.redisServer.url);
    const deafDuplicate = (): unknown => {
      const d = real.duplicate();
      return new Proxy(d, {
        get(target, p, receiver): unknown {
          if (p === 'subscribe') return () => Promise.resolve();
          const v: unknown = Reflect.get(target, p, receiver);
          return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
        },
      });
    };
    const deaf = new Proxy(real, {
      get(target, p, receiver): unknown {
        if (p === 'duplicate') return deafDuplicate;
        const v: unknown = Reflect.get(target, p, receiver);
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    });
    const b = await stack.instance({}, { ...fast, client: deaf });
    a.broker.forgetUser('sw-harmless@example.com');
    await eventually(async () => (await stack.admin.keys('sw:*:changes')).length === 1);
    const victim = 'sw-victim@example.com';
    const old = (await b.broker.getToken(victim)).identityId;
    await eventually(async () => {
      const [k = ''] = await stack.admin.keys('sw:*:changes');
      return b.broker.stats().fleet !== undefined && (await stack.admin.hGet(k, 'seq')) === '1';
    });
    await new Promise((r) => setTimeout(r, 500));
    const [stateKey = ''] = await stack.admin.keys('sw:*:changes');
    const logKey = `${stateKey}:log`;
    await a.broker.unlinkDeveloperUser(victim);
    // The newest record replaced by the older, genuine one (the number kept).
    const [newest = '', older = ''] = await stack.admin.lRange(logKey, 0, 1);
    const seq = newest.slice(0, newest.indexOf(' '));
    await stack.admin.lSet(logKey, 0, `${seq} ${older.slice(older.indexOf(' ') + 1)}`);
    const truth = (await a.broker.getToken(victim)).identityId;
    assert.notEqual(truth, old);
    await eventually(() => (b.broker.stats().fleet?.entriesRejected ?? 0) >= 1);
    assert.equal((await b.broker.getToken(victim)).identityId, truth);
    real.destroy();
  });

  void it('a 50 MB value in an entry and a 50 MB change record: Cognito is asked, memory stays bounded', async () => {
    // Redis itself is slow while it builds and copies 50 MB: a patient timeout keeps this about memory.
    const fast = { prefix: 'bomb', syncIntervalMs: 100, commandTimeoutMs: 3000, retryMs: 50 };
    const a = await stack.instance({}, fast);
    const user = 'bomb@example.com';
    const identity = (await a.broker.getToken(user)).identityId;
    const [entryKey = ''] = await stack.admin.keys('bomb:*:e:token:*');
    await stack.admin.sendCommand([
      'EVAL',
      "redis.call('HSET', KEYS[1], 'v', string.rep('A', 50 * 1024 * 1024)) return 1",
      '1',
      entryKey,
    ]);
    const c = await stack.instance({}, fast);
    const tokens = stack.calls()[TOKEN] ?? 0;
    const grew = await peakGrowth(async () => {
      assert.equal((await c.broker.getToken(user)).identityId, identity);
    });
    assert.equal(stack.calls()[TOKEN], tokens + 1, 'the oversized entry is missing: Cognito asked');
    assert.ok(grew < 100 * 1024 * 1024, `RSS grew by ${grew >> 20} MB`);
    // A huge record where the next change goes: read as a gap (every entry dropped), never read in.
    a.broker.forgetUser('bomb-other@example.com');
    await eventually(async () => (await stack.admin.keys('bomb:*:changes')).length === 1);
    await eventually(() => (c.broker.stats().fleet?.invalidationsApplied ?? 0) >= 1, 'c applied the change');
    const [stateKey = ''] = await stack.admin.keys('bomb:*:changes');
    const drops = c.broker.stats().fleet?.resyncDrops ?? 0;
    const grewAgain = await peakGrowth(async () => {
      await stack.admin.sendCommand([
        'EVAL',
        "local s = redis.call('HINCRBY', KEYS[1], 'seq', 1) redis.call('LPUSH', KEYS[2], s .. ' ' .. string.rep('A', 50 * 1024 * 1024)) return 1",
        '2',
        stateKey,
        `${stateKey}:log`,
      ]);
      await eventually(
        () => (c.broker.stats().fleet?.resyncDrops ?? 0) > drops,
        JSON.stringify(c.broker.stats().fleet),
      );
    });
    assert.ok(grewAgain < 100 * 1024 * 1024, `RSS grew by ${grewAgain >> 20} MB`);
    assert.equal((await c.broker.getToken(user)).identityId, identity);
  });
});
