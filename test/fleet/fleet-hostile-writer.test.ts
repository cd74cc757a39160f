// Write access to Redis buys no stale or foreign identity: a forged wake-up cannot make instances
// skip a real change, and an old sealed entry written back with rewritten numbers does not open.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { singleNodeOnly, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = singleNodeOnly('a hostile writer of raw keys on the one server');
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';

async function eventually(condition: () => Promise<boolean>, rounds = 150): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('condition not met in time');
}

void describe('fleet: a hostile writer of Redis', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('a forged change number published before a real change does not hide it', async () => {
    const fast = { prefix: 'forge', syncIntervalMs: 100 };
    const a = await stack.instance({}, fast);
    const b = await stack.instance({}, fast);
    a.broker.forgetUser('forge-warm@example.com');
    await eventually(async () => (await stack.admin.keys('forge:*:changes')).length === 1);
    const [stateKey = ''] = await stack.admin.keys('forge:*:changes');
    const before = (await b.broker.getToken('forge-victim@example.com')).identityId;
    await eventually(() => Promise.resolve((b.broker.stats().fleet?.invalidationsApplied ?? 0) >= 1));
    // The attacker announces the next number, with an empty change, on the channel.
    const epoch = (await stack.admin.hGet(stateKey, 'epoch')) ?? '';
    const seq = Number((await stack.admin.hGet(stateKey, 'seq')) ?? '0');
    const channel = `${stateKey.slice(0, -'changes'.length)}events`;
    await stack.admin.publish(channel, `I ${epoch} ${seq + 1} other {"u":[],"i":[]}`);
    await a.broker.unlinkDeveloperUser('forge-victim@example.com');
    await eventually(async () => (await b.broker.getToken('forge-victim@example.com')).identityId !== before);
  });

  void it('an old sealed entry written back with rewritten numbers is not served', async () => {
    const a = await stack.instance({}, { prefix: 'replay' });
    const user = 'replay-victim@example.com';
    const old = (await a.broker.getToken(user)).identityId;
    const [entryKey = ''] = await stack.admin.keys('replay:*:e:token:*');
    const saved = await stack.admin.hGetAll(entryKey);
    assert.ok(saved.v !== undefined, 'the shared entry');
    await a.broker.unlinkDeveloperUser(user);
    const fresh = (await a.broker.getToken(user)).identityId;
    assert.notEqual(fresh, old);
    // Written back, its change number raised past every generation so that the script takes it.
    await stack.admin.del(entryKey);
    await stack.admin.hSet(entryKey, { ...saved, s: '999999999' });
    const calls = stack.calls()[TOKEN] ?? 0;
    const c = await stack.instance({}, { prefix: 'replay' });
    assert.equal((await c.broker.getToken(user)).identityId, fresh, 'a fresh instance served the unlinked identity');
    assert.equal(stack.calls()[TOKEN], calls + 1, 'loaded from Cognito instead');
    assert.ok((c.broker.stats().fleet?.entriesRejected ?? 0) >= 1, 'the rewritten entry was refused');
  });

  void it('a change record not sealed by the fleet is not applied: the instance drops everything instead', async () => {
    const fast = { prefix: 'rec', syncIntervalMs: 100 };
    const a = await stack.instance({}, fast);
    a.broker.forgetUser('rec-warm@example.com');
    await eventually(async () => (await stack.admin.keys('rec:*:changes')).length === 1);
    const [stateKey = ''] = await stack.admin.keys('rec:*:changes');
    await a.broker.getToken('rec-user@example.com');
    await eventually(() => Promise.resolve(a.broker.stats().tokens.size >= 1));
    const drops = a.broker.stats().fleet?.resyncDrops ?? 0;
    const seq = await stack.admin.hIncrBy(stateKey, 'seq', 1);
    await stack.admin.lPush(`${stateKey}:log`, `${seq} {"n":"x","u":["rec-user@example.com"],"i":[]}`);
    await eventually(() => Promise.resolve((a.broker.stats().fleet?.resyncDrops ?? 0) > drops));
    assert.equal(a.broker.stats().fleet?.invalidationsApplied ?? 0, 0, 'the forged change was not applied as such');
  });
});
