// The fleet tier's modules together on a fake client: what it sends to Redis and what it does with
// the answers. The fleet suites (test/fleet) run the same tier against a real redis-server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { FleetHost, FleetLoad } from '../../../src/broker/fleet.js';
import { EntryCipher } from '../../../src/fleet/cipher.js';
import { FleetKeys } from '../../../src/fleet/keys.js';
import {
  BUMP,
  GET_OR_LEASE,
  INVALIDATE,
  JOIN,
  MEMBERS,
  LOCK,
  PROBE,
  PUT,
  RELEASE,
  SYNC,
  UNLOCK,
} from '../../../src/fleet/scripts.js';
import { RedisTier } from '../../../src/fleet/tier.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { FakeRedis } from './fake-redis.js';

interface Value {
  readonly validUntil: number;
  readonly refreshAt: number;
  readonly identityId: string;
}

const USER = 'alice@example.com';
const IDENTITY = 'us-east-1:00000000-aaaa-bbbb-cccc-000000000001';

/** A tier on a fake client whose change log stands at change `seq` of `epoch`. */
function setup(epoch = 'a1', seq = '4') {
  const redis = new FakeRedis();
  redis.know(BUMP, JOIN, MEMBERS, GET_OR_LEASE, PUT, RELEASE, INVALIDATE, SYNC, LOCK, UNLOCK, PROBE);
  redis.answer(SYNC, () => [epoch, seq, '']);
  redis.answer(JOIN, () => 1);
  const clock = new ManualClock();
  const changes: { u: readonly string[]; i: readonly string[] }[] = [];
  let drops = 0;
  const host: FleetHost = {
    namespace: 'ns',
    log: pino({ level: 'silent' }),
    clock,
    loadMs: 1000,
    waitMs: 200,
    maxUsers: 1000,
    invalidateLocal: (u, i) => changes.push({ u, i }),
    dropAll: () => (drops += 1),
    dropStored: () => (drops += 1),
  };
  const key = randomBytes(32);
  const cipher = new EntryCipher({ k1: key }, undefined);
  const tier = new RedisTier(
    { client: redis, cipher, prefix: 'cib', commandTimeoutMs: 100, retryMs: 1000, syncIntervalMs: 60_000 },
    host,
  );
  const keys = new FleetKeys('cib', 'ns', cipher.derive('key names'));
  let loads = 0;
  const request = (over: Partial<FleetLoad<Value>> = {}): FleetLoad<Value> => ({
    kind: 'token',
    key: `token:${USER}`,
    userId: USER,
    identityId: undefined,
    accept: () => true,
    encode: (v) => JSON.stringify(v),
    decode: (t) => JSON.parse(t) as Value,
    identityOf: (v) => v.identityId,
    load: () => {
      loads += 1;
      return Promise.resolve({
        validUntil: clock.now() + 60_000,
        refreshAt: clock.now() + 30_000,
        identityId: IDENTITY,
      });
    },
    signal: new AbortController().signal,
    ...over,
  });
  return { redis, tier, keys, cipher, clock, changes, request, loads: () => loads, drops: () => drops };
}

void describe('fleet tier (fake client)', () => {
  void it('serves a current shared entry without loading', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const aad = t.keys.entryAad('token', `token:${USER}`, '4', 'a1');
    t.redis.answer(GET_OR_LEASE, () => ['hit', '', t.cipher.seal(aad, JSON.stringify(value)), '4', 'a1']);
    assert.deepEqual(await t.tier.load(t.request()), value);
    assert.equal(t.loads(), 0);
    assert.equal(t.tier.stats().sharedHits, 1);
    await t.tier.close();
  });

  void it('refuses an entry sealed for another key and loads it itself', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const other = t.keys.entryAad('token', 'token:mallory', '4', 'a1');
    let round = 0;
    t.redis.answer(GET_OR_LEASE, () =>
      round++ === 0 ? ['hit', '', t.cipher.seal(other, JSON.stringify(value)), '4', 'a1'] : ['lease', '0', 'a1'],
    );
    t.redis.answer(PUT, () => 1);
    assert.equal((await t.tier.load(t.request())).identityId, IDENTITY);
    assert.equal(t.loads(), 1);
    assert.equal(t.tier.stats().entriesRejected, 1);
    await t.tier.close();
  });

  void it('holding the lease, loads once and stores the sealed entry under keyed names', async () => {
    const t = setup();
    t.redis.answer(GET_OR_LEASE, () => ['lease', '0', 'a1']);
    t.redis.answer(PUT, () => 1);
    await t.tier.load(t.request());
    assert.equal(t.loads(), 1);
    const [put] = t.redis.callsOf(PUT);
    assert.ok(put !== undefined, 'stored');
    const tag = t.keys.userTag(USER);
    assert.ok(put.keys.length > 0 && put.keys.every((k) => k.includes(tag)), "every key in the user's slot");
    assert.deepEqual(put.args.slice(3, 5), ['4', 'a1'], 'under the position it began at');
    for (const s of t.redis.sent()) {
      assert.ok(!s.includes(USER) && !s.includes(IDENTITY), `clear id sent to Redis: ${s}`);
    }
    await t.tier.close();
  });

  void it('loads again, storing and serving nothing, when a change of its user came in during the load', async () => {
    const t = setup();
    t.redis.answer(GET_OR_LEASE, () => ['lease']);
    t.redis.answer(PUT, () => 1);
    await t.tier.load(t.request()); // the first read of the log is done
    let first = true;
    const other = t.cipher.seal(t.keys.changeAad('a1', 5), JSON.stringify({ n: 'other', u: [USER], i: [] }));
    const base = t.request();
    const load = () => base.load();
    await t.tier.load(
      t.request({
        load: async () => {
          if (first) {
            first = false;
            // Another instance changes the user while this load runs.
            t.redis.answer(SYNC, () => ['a1', '5', '', `5 ${other}`]);
            t.redis.subscriber.deliver('I a1 5');
            await new Promise((r) => setTimeout(r, 5));
          }
          return load();
        },
      }),
    );
    assert.equal(t.loads(), 3, 'one before; then the first answer may predate the change: loaded again');
    assert.equal(t.redis.callsOf(PUT).length, 2, 'stored once before, once after the change');
    assert.deepEqual(t.redis.callsOf(PUT)[1]?.args.slice(3, 5), ['5', 'a1']);
    assert.equal(t.tier.stats().sharedLoads, 3);
    await t.tier.close();
  });

  void it('refuses a shared entry loaded before a change of its user or identity it knows of', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const other = t.cipher.seal(t.keys.changeAad('a1', 5), JSON.stringify({ n: 'other', u: [], i: [IDENTITY] }));
    t.redis.answer(SYNC, () => ['a1', '5', '', `5 ${other}`]);
    let round = 0;
    const aad = t.keys.entryAad('token', `token:${USER}`, '4', 'a1');
    t.redis.answer(GET_OR_LEASE, () =>
      round++ === 0 ? ['hit', '', t.cipher.seal(aad, JSON.stringify(value)), '4', 'a1'] : ['lease'],
    );
    t.redis.answer(PUT, () => 1);
    // The first read of the log starts the index at 5 (nothing older known): read a later change.
    t.redis.subscriber.deliver('I a1 5');
    await new Promise((r) => setTimeout(r, 5));
    await t.tier.load(t.request());
    assert.equal(t.loads(), 1, 'its identity changed at 5, after the load at 4');
    assert.equal(t.tier.stats().sharedHits, 0);
    await t.tier.close();
  });

  void it("refuses an entry older than its owner's marker, set by the change's maker in the owner's slot", async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const aad = t.keys.entryAad('token', `token:${USER}`, '4', 'a1');
    let round = 0;
    // This instance has read the log up to 4; the user was changed at 6 (its message not read yet).
    t.redis.answer(GET_OR_LEASE, (keys) => {
      assert.equal(keys[2], t.keys.marker(t.keys.userTag(USER)));
      return round++ === 0 ? ['hit', 'a1:6', t.cipher.seal(aad, JSON.stringify(value)), '4', 'a1'] : ['lease', 'a1:6'];
    });
    t.redis.answer(PUT, () => 1);
    await t.tier.load(t.request());
    assert.equal(t.loads(), 1, 'the entry predates the marked change');
    // The loader joined the identity's members before it read the log again and stored.
    const order = t.redis.calls.map((c) => c.script.sha);
    const join = order.indexOf(JOIN.sha);
    assert.ok(join >= 0, 'joined');
    assert.deepEqual(t.redis.callsOf(JOIN)[0]?.keys, [t.keys.members(IDENTITY)]);
    assert.ok(order.indexOf(SYNC.sha, join) > join && order.indexOf(PUT.sha) > order.indexOf(SYNC.sha, join));
    // A change made here raises the markers of every user and identity it names, in their slots,
    // and of the identity's members (a forged member is not taken).
    const bob = FleetKeys.member(t.keys.userTag('bob@example.com'));
    t.redis.answer(MEMBERS, () => [bob, 'x:{evil}', FleetKeys.member(t.keys.userTag(USER))]);
    t.redis.answer(INVALIDATE, () => ['ok', 'a1', '7']);
    await t.tier.record([USER], [IDENTITY]);
    const bumped = t.redis.callsOf(BUMP).map((c) => [c.keys[0], c.args.slice(0, 2)]);
    assert.deepEqual(bumped, [
      [t.keys.marker(t.keys.userTag(USER)), ['a1', '7']],
      [t.keys.marker(t.keys.identityTag(IDENTITY)), ['a1', '7']],
      [t.keys.marker(t.keys.userTag('bob@example.com')), ['a1', '7']],
    ]);
    await t.tier.close();
  });

  void it('reads the log when a marker names an epoch it has not been in, not one it has', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const entry = t.cipher.seal(t.keys.entryAad('token', `token:${USER}`, '4', 'a1'), JSON.stringify(value));
    await new Promise((r) => setTimeout(r, 5));
    let marker = 'a0:9';
    t.redis.answer(GET_OR_LEASE, () => ['hit', marker, entry, '4', 'a1']);
    const syncs = () => t.redis.callsOf(SYNC).length;
    const before = syncs();
    await t.tier.load(t.request());
    assert.equal(syncs(), before + 1, 'a marker of an unknown epoch: the feed may have started over');
    // The log says the epoch is e2 now: the entry of a1 is stale.
    assert.equal(t.loads(), 0, 'still a1 in the log: served');
    t.redis.answer(SYNC, () => ['e2', '0', '']);
    marker = 'e2:1';
    t.redis.answer(PUT, () => 1);
    t.redis.answer(GET_OR_LEASE, (_k, args) =>
      args[2] === '' ? ['hit', marker, entry, '4', 'a1'] : ['lease', marker],
    );
    await t.tier.load(t.request());
    assert.equal(t.loads(), 1, 'the epoch it read is e2: the a1 entry is refused');
    const known = syncs();
    marker = 'a1:7';
    await t.tier.load(t.request({ key: 'token:other' }));
    assert.equal(syncs() - known <= 1, true, 'a marker of an epoch it left costs no read of its own');
    await t.tier.close();
  });

  void it('judges the credentials that came with a token as if read alone, and stores nothing it could not join', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const credentialsKey = `credentials:${IDENTITY}`;
    const sealed = (kind: 'token' | 'credentials', key: string, s: string) =>
      t.cipher.seal(t.keys.entryAad(kind, key, s, 'a1'), JSON.stringify(value));
    // The identity changed at 5 (this instance read it); the token was loaded at 5, its credentials at 4.
    const other = t.cipher.seal(t.keys.changeAad('a1', 5), JSON.stringify({ n: 'other', u: [], i: [IDENTITY] }));
    t.redis.answer(SYNC, () => ['a1', '5', '', `5 ${other}`]);
    t.redis.subscriber.deliver('I a1 5');
    await new Promise((r) => setTimeout(r, 5));
    t.redis.answer(GET_OR_LEASE, (keys) =>
      keys[0]?.includes(':e:token:')
        ? [
            'hit',
            '',
            sealed('token', `token:${USER}`, '5'),
            '5',
            'a1',
            t.keys.loadId('credentials', credentialsKey),
            sealed('credentials', credentialsKey, '4'),
            '4',
            'a1',
          ]
        : ['lease', ''],
    );
    t.redis.answer(JOIN, () => 0);
    await t.tier.load(t.request());
    assert.equal(t.loads(), 0, 'the token is current');
    await t.tier.load(t.request({ kind: 'credentials', key: credentialsKey, identityId: IDENTITY }));
    assert.equal(t.loads(), 1, 'the credentials predate the change of their identity: loaded');
    assert.equal(t.redis.callsOf(PUT).length, 0, 'the identity set was full: not stored');
    await t.tier.close();
  });

  void it('a subscriber that connects after the tier closed is closed then (its connection kept no process alive)', async () => {
    const redis = new FakeRedis();
    redis.know(SYNC);
    redis.answer(SYNC, () => ['a1', '0', '']);
    let connected: () => void = () => undefined;
    redis.subscriber.connecting = new Promise<void>((r) => (connected = r));
    const host: FleetHost = {
      namespace: 'ns',
      log: pino({ level: 'silent' }),
      clock: new ManualClock(),
      loadMs: 1000,
      waitMs: 200,
      maxUsers: 10,
      invalidateLocal: () => undefined,
      dropAll: () => undefined,
      dropStored: () => undefined,
    };
    const cipher = new EntryCipher({ k1: randomBytes(32) }, undefined);
    const tier = new RedisTier(
      { client: redis, cipher, prefix: 'cib', commandTimeoutMs: 100, retryMs: 1000, syncIntervalMs: 60_000 },
      host,
    );
    await tier.close();
    const before = redis.subscriber.destroys;
    connected();
    await new Promise((r) => setImmediate(r));
    assert.equal(redis.subscriber.destroys, before + 1, 'destroyed again once connected');
    assert.equal(redis.subscriber.channels.size, 0, 'never subscribed');
  });

  void it('opens a shared entry only with the numbers it was sealed with', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const sealed = t.cipher.seal(t.keys.entryAad('token', `token:${USER}`, '4', 'a1'), JSON.stringify(value));
    let round = 0;
    // The same value with its numbers rewritten (as an attacker would, to pass the script's check).
    t.redis.answer(GET_OR_LEASE, () => (round++ === 0 ? ['hit', '', sealed, '9', 'a1'] : ['lease', '9', 'a1']));
    t.redis.answer(PUT, () => 1);
    await t.tier.load(t.request());
    assert.equal(t.loads(), 1);
    assert.equal(t.tier.stats().entriesRejected, 1);
    await t.tier.close();
  });

  void it('loads without the tier when Redis fails, and then degrades', async () => {
    const t = setup();
    t.redis.answer(GET_OR_LEASE, () => {
      throw new Error('ERR boom');
    });
    assert.equal((await t.tier.load(t.request())).identityId, IDENTITY);
    assert.equal(t.tier.stats().state, 'degraded');
    await t.tier.load(t.request());
    assert.equal(t.redis.callsOf(GET_OR_LEASE).length, 1, 'no command while degraded');
    await t.tier.close();
  });

  void it('publishes a sealed change under keyed names; a wake-up only makes it read the log', async () => {
    const t = setup('e1', '0');
    // The record is sealed for the number it gets: sealed for another, it is refused and sealed again.
    let tries = 0;
    t.redis.answer(INVALIDATE, () => (++tries === 1 ? ['retry', 'e1', '0'] : ['ok', 'e1', '1']));
    t.tier.invalidated([USER], [IDENTITY]);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(tries, 2);
    const [, published] = t.redis.callsOf(INVALIDATE);
    assert.deepEqual(published?.args.slice(4, 6), ['e1', '1']);
    assert.deepEqual(published.keys, [t.keys.changeState, t.keys.changeLog], "the feed's slot only");
    for (const s of t.redis.sent()) assert.ok(!s.includes(USER) && !s.includes(IDENTITY), `clear id sent: ${s}`);
    const record = published.args[1] ?? '';
    // The log holds the real change; a forged wake-up announces more.
    t.redis.answer(SYNC, () => ['e1', '1', '', `1 ${record}`]);
    const syncs = t.redis.callsOf(SYNC).length;
    t.redis.subscriber.deliver('I e1 1');
    await new Promise((r) => setImmediate(r));
    assert.equal(t.redis.callsOf(SYNC).length, syncs + 1);
    const own = { u: [USER], i: [IDENTITY] };
    // Applied here once it is out (what was loaded while it was on its way may predate it), not again from the log.
    assert.deepEqual(t.changes, [own], 'its own change is not applied again');
    // Another instance's record (sealed by the fleet) is applied; an unsealed one drops everything.
    const other = t.cipher.seal(t.keys.changeAad('e1', 2), JSON.stringify({ n: 'other', u: ['bob'], i: [] }));
    t.redis.answer(SYNC, () => ['e1', '3', '', `3 {"n":"x","u":[],"i":[]}`, `2 ${other}`]);
    t.redis.subscriber.deliver('I e1 3');
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(t.changes, [own, { u: ['bob'], i: [] }]);
    assert.equal(t.drops(), 1);
    // A genuine record moved to another number (its own, or another's) does not open: everything goes.
    t.redis.answer(SYNC, () => ['e1', '5', '', `5 ${other}`, `4 ${record}`]);
    t.redis.subscriber.deliver('I e1 5');
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(t.changes, [own, { u: ['bob'], i: [] }], 'the moved record is not applied');
    assert.equal(t.drops(), 3);
    await t.tier.close();
  });

  void it('changes recorded at once by one instance all get a number (one at a time, not racing)', async () => {
    const t = setup();
    // INVALIDATE's compare-and-set: a record sealed for a number that is no longer next is refused.
    let seq = 0;
    t.redis.answer(INVALIDATE, (_keys, args) => {
      const [epoch, wanted] = args.slice(4);
      if (epoch !== 'e1' || wanted !== String(seq + 1)) return ['retry', 'e1', String(seq)];
      seq += 1;
      return ['ok', 'e1', String(seq)];
    });
    const users = Array.from({ length: 8 }, (_, n) => `user-${n}`);
    const results = await Promise.allSettled(users.map((u) => t.tier.record([u], [])));
    assert.deepEqual(
      results.map((r) => r.status),
      users.map(() => 'fulfilled'),
    );
    assert.equal(seq, 8);
    t.redis.answer(PROBE, () => 'ok');
    assert.equal(await t.tier.ready(), true, 'nothing left unpublished');
    await t.tier.close();
  });

  void it('a fleet key of the wrong type: not ready for a change, and the cache is dropped once', async () => {
    const t = setup();
    t.redis.answer(PROBE, () => 'type');
    assert.equal(await t.tier.ready(), false);
    assert.equal(await t.tier.ready(), false);
    assert.equal(t.drops(), 1);
    assert.equal(t.tier.stats().state, 'shared', 'not an outage');
    t.redis.answer(INVALIDATE, () => ['type']);
    await assert.rejects(t.tier.record([USER], []));
    await t.tier.close();
  });

  void it('is ready for a change only when Redis answers, and records it before resolving', async () => {
    const t = setup();
    t.redis.answer(PROBE, () => 'ok');
    assert.equal(await t.tier.ready(), true);
    let answer: (v: unknown) => void = () => undefined;
    t.redis.answer(INVALIDATE, () => new Promise((r) => (answer = r)));
    let recorded = false;
    const record = t.tier.record([USER], [IDENTITY]).then(() => (recorded = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(recorded, false, 'not before Redis holds it');
    answer(['ok', '', '1']);
    await record;
    assert.equal(recorded, true);
    t.redis.answer(INVALIDATE, () => {
      throw new Error('ERR boom');
    });
    await assert.rejects(t.tier.record([USER], []));
    assert.equal(await t.tier.ready(), false, 'degraded, and a change waits to be sent');
    await t.tier.close();
  });

  void it('takes a lock, waits for the same owner, refuses another', async () => {
    const t = setup();
    t.redis.answer(LOCK, () => 'ok');
    const lock = await t.tier.lock('guest:1', USER, 1000);
    assert.notEqual(lock, 'held-by-other');
    if (lock !== 'held-by-other') lock.release();
    t.redis.answer(LOCK, () => 'other');
    assert.equal(await t.tier.lock('guest:1', 'bob', 1000), 'held-by-other');
    const [first] = t.redis.callsOf(LOCK);
    assert.ok(first !== undefined && first.args.every((a) => !a.includes(USER)));
    await t.tier.close();
  });
  void it('keeps no companion entry from a reply that a change overlapped', async () => {
    const t = setup();
    const value: Value = { validUntil: t.clock.now() + 1000, refreshAt: t.clock.now() + 500, identityId: IDENTITY };
    const credentialsKey = `credentials:${IDENTITY}`;
    const companion = t.keys.loadId('credentials', credentialsKey);
    const sealed = (kind: 'token' | 'credentials', key: string) =>
      t.cipher.seal(t.keys.entryAad(kind, key, '4', 'a1'), JSON.stringify(value));
    let answer: (reply: unknown) => void = () => undefined;
    let round = 0;
    t.redis.answer(GET_OR_LEASE, () =>
      round++ === 0
        ? new Promise((resolve) => {
            answer = resolve;
          })
        : ['lease', '4', 'a1'],
    );
    t.redis.answer(INVALIDATE, () => 1);
    t.redis.answer(PUT, () => 1);
    const token = t.tier.load(t.request());
    while (round === 0) await new Promise((resolve) => setImmediate(resolve));
    // A change while the reply is on its way: the credentials that come with it predate it.
    t.tier.invalidated(['bob@example.com'], []);
    answer([
      'hit',
      '',
      sealed('token', `token:${USER}`),
      '4',
      'a1',
      companion,
      sealed('credentials', credentialsKey),
      '4',
      'a1',
    ]);
    await token;
    await t.tier.load(t.request({ kind: 'credentials', key: credentialsKey, identityId: IDENTITY }));
    assert.equal(t.loads(), 1, 'the credentials are loaded, not taken from the reply before the change');
    await t.tier.close();
  });
});
