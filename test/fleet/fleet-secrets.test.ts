// Nothing secret in clear in Redis: every key and value read back, and every command Redis received
// (MONITOR) during a run of all the fleet's steps. Entries are encrypted and bound to their key;
// keys rotate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretLedger } from '../helpers/secret-ledger.js';
import {
  asFleetClient,
  FLEET_KEY,
  fleetSkipReason,
  skipOnCluster,
  startFleetStack,
  type FleetStack,
} from '../helpers/fleet-stack.js';
import { redisFleet } from '../../src/fleet/index.js';

const skip = fleetSkipReason();
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';

void describe('fleet: secrets never in clear in Redis', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('tokens, secret keys, session tokens and the encryption key: not in any key, value or command', async () => {
    const ledger = new SecretLedger();
    ledger.add(FLEET_KEY);
    const monitor = await stack.monitor();
    const commands = monitor.lines;
    try {
      const a = await stack.instance();
      const b = await stack.instance();
      const users = ['s-1', 's-2', 's-3'];
      for (const u of users) {
        const [t1, t2] = await Promise.all([a.broker.getToken(u), b.broker.getToken(u)]);
        const [c1, c2] = await Promise.all([a.broker.getCredentials(u), b.broker.getCredentials(u)]);
        for (const t of [t1, t2]) ledger.add(t.token);
        for (const c of [c1, c2]) ledger.add(c.secretAccessKey, c.sessionToken, c.accessKeyId);
      }
      const guest = await a.broker.getGuestCredentials();
      ledger.add(guest.secretAccessKey, guest.sessionToken);
      ledger.add((await b.broker.getGuestCredentials(guest.identityId)).sessionToken);
      await a.broker.mergeUsers('s-1', 's-2');
      a.broker.forgetUser('s-3');
      ledger.add((await b.broker.getCredentials('s-3')).sessionToken);
      // The governor's buckets and the guest lock too.
      const upgraded = await b.broker.upgradeGuest('s-4', (await a.broker.getGuestCredentials()).identityId);
      ledger.add(upgraded.token);
    } finally {
      // Let the last commands reach MONITOR.
      await new Promise((r) => setTimeout(r, 100));
      monitor.stop();
    }
    assert.ok(commands.length > 20, `MONITOR saw the run (${commands.length} commands)`);
    assert.ok(ledger.size > 10);
    const dump = await stack.dump();
    assert.ok(dump.includes(' hash '), 'entries are in Redis');
    ledger.assertNoLeak(`${dump}\n${commands.join('\n')}`);
  });

  void it('no user id, identity id or guest identity id in any key, value, channel message or command', async () => {
    const ids = new SecretLedger();
    const monitor = await stack.monitor();
    const listener = await stack.listen();
    try {
      const a = await stack.instance({}, { prefix: 'ids' });
      const b = await stack.instance({}, { prefix: 'ids' });
      // Ids a reader could guess (e-mail addresses): a bare hash of one would be reversed.
      const users = ['ada.lovelace@example.com', 'alan.turing@example.com', 'grace.hopper@example.com'];
      ids.add(...users);
      for (const u of users) {
        const [t1, t2] = await Promise.all([a.broker.getToken(u), b.broker.getToken(u)]);
        ids.add(t1.identityId, t2.identityId);
        ids.add((await b.broker.getCredentials(u)).identityId);
      }
      const guest = await a.broker.getGuestCredentials();
      ids.add(guest.identityId);
      await b.broker.getGuestCredentials(guest.identityId);
      await a.broker.mergeUsers(users[0] ?? '', users[1] ?? '');
      await b.broker.unlinkDeveloperUser(users[2] ?? '');
      ids.add((await b.broker.getToken(users[2] ?? '')).identityId);
      a.broker.forgetUser(users[0] ?? '');
      const second = (await a.broker.getGuestCredentials()).identityId;
      ids.add(second, 'edsger.dijkstra@example.com');
      ids.add((await b.broker.upgradeGuest('edsger.dijkstra@example.com', second)).identityId);
      // Every instance has read the log of those changes.
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      monitor.stop();
      listener.stop();
    }
    const [commands, messages] = [monitor.lines, listener.lines];
    assert.ok(commands.length > 20 && messages.length > 5, `${commands.length} commands, ${messages.length} messages`);
    const dump = await stack.dump();
    ids.assertNoLeak(`${dump}\n${commands.join('\n')}\n${messages.join('\n')}`);
  });

  void it('an entry copied to another key does not open, and an unknown key id is a miss, not an error', async (t) => {
    if (skipOnCluster(t, 'swaps raw values on the one server')) return;
    // A prefix of their own: exactly these two entries under it.
    const a = await stack.instance({}, { prefix: 'copy' });
    await a.broker.getToken('copy-src');
    await a.broker.getToken('copy-dst');
    const keys = await stack.admin.keys('copy:*:e:token:*');
    assert.equal(keys.length, 2);
    // Swap the two sealed values: each is authenticated with its own key, so neither opens.
    const [k1 = '', k2 = ''] = keys;
    const [v1, v2] = await Promise.all([stack.admin.hGet(k1, 'v'), stack.admin.hGet(k2, 'v')]);
    await stack.admin.hSet(k1, 'v', v2 ?? '');
    await stack.admin.hSet(k2, 'v', v1 ?? '');
    const b = await stack.instance({}, { prefix: 'copy' });
    const before = stack.calls()[TOKEN] ?? 0;
    await b.broker.getToken('copy-src');
    await b.broker.getToken('copy-dst');
    assert.equal(stack.calls()[TOKEN], before + 2, 'both loaded from Cognito');
    assert.ok((b.broker.stats().fleet?.entriesRejected ?? 0) >= 2);
  });

  void it('rotation: a second key becomes current; entries under the first still open while it is configured', async () => {
    const k2 = randomBytes(32).toString('base64');
    const old = await stack.instance();
    await old.broker.getCredentials('rotate-1');
    const both = await stack.instance({}, { encryptionKeys: { k1: FLEET_KEY, k2 }, currentKeyId: 'k2' });
    const before = stack.calls()[TOKEN] ?? 0;
    await both.broker.getCredentials('rotate-1');
    assert.equal(stack.calls()[TOKEN], before, 'the k1 entry opened with k1');
    await both.broker.getCredentials('rotate-2');
    const sealed = await Promise.all(
      (await stack.keys('cib:*:e:*')).map(async (k) => (await stack.client.hGet(k, 'v')) ?? ''),
    );
    assert.ok(sealed.some((v) => v.startsWith('k2.')));
    // An instance with only k2 cannot read k1 entries: a miss and a load of its own.
    const onlyNew = await stack.instance({}, { encryptionKeys: { k2 } });
    await onlyNew.broker.getCredentials('rotate-1');
    assert.equal(stack.calls()[TOKEN], before + 2);
  });

  void it('bad fleet options are TypeErrors naming the option, never echoing a key', () => {
    const client = asFleetClient(stack.client);
    const secret = randomBytes(31).toString('base64');
    assert.throws(
      () => redisFleet({ client, encryptionKeys: { k1: secret } }),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /encryption key "k1" must be 32 bytes/);
        assert.ok(!err.message.includes(secret));
        return true;
      },
    );
    assert.throws(() => redisFleet({ client, encryptionKeys: {} }), /at least one key/);
    assert.throws(
      () => redisFleet({ client, encryptionKeys: { a: FLEET_KEY, b: FLEET_KEY } }),
      /currentKeyId is required/,
    );
    assert.throws(() => redisFleet({ client, encryptionKeys: { k1: 'not base64!' } }), /base64 of 32 bytes/);
    assert.throws(() => redisFleet({ client, encryptionKeys: { k1: FLEET_KEY }, prefix: 'a b' }), /prefix/);
    assert.throws(() => redisFleet({ client, encryptionKeys: { k1: FLEET_KEY }, retryMs: 0 }), /retryMs/);
    assert.throws(
      () => redisFleet({ client, encryptionKeys: { k1: FLEET_KEY }, bogus: 1 } as never),
      /unknown option "bogus"/,
    );
    assert.throws(() => redisFleet({ client: {} as never, encryptionKeys: { k1: FLEET_KEY } }), /node-redis client/);
  });
});
