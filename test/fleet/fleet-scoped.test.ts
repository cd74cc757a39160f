// The classic flow's scoped credentials in a fleet: one STS call per (user, scope) per lifetime for
// every instance together, a shared entry served with no STS call, changes on one instance (link,
// unlink, merge, forgetUser) making the others load again, and no policy, id or secret in Redis.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { STSClient } from '@aws-sdk/client-sts';
import type { Broker, BrokerOptions, IdentityCredentials } from '../../src/index.js';
import type { FleetRedisClient, RedisFleetOptions } from '../../src/fleet/index.js';
import { checkScope } from '../../src/broker/scope.js';
import { givenScopeHash } from '../../src/broker/scoped-entries.js';
import { emulatorStsClient } from '../helpers/emulator-sdk.js';
import { holdingStsClient } from '../helpers/held-answers.js';
import { SecretLedger } from '../helpers/secret-ledger.js';
import {
  asFleetClient,
  FLEET_KEY,
  FLEET_PROVIDER,
  fleetSkipReason,
  startFleetStack,
  type FleetConnection,
  type FleetInstance,
  type FleetStack,
} from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const STS = 'AssumeRoleWithWebIdentity';
const FB = 'graph.facebook.com';
// A healthy Redis, also on a loaded machine: a degraded instance loads alone, by design.
const HEALTHY: Partial<RedisFleetOptions> = { commandTimeoutMs: 5000 };

function uploadPolicy(prefix: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::fleet-uploads/${prefix}/*` }],
  });
}
const SCOPE = { policy: uploadPolicy('users/scoped-policy-marker'), durationSeconds: 900 };

async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), 'condition not met in time');
}

void describe('fleet: scoped credentials shared by the instances', { skip }, () => {
  let stack: FleetStack;
  const stsClients: STSClient[] = [];
  const deafClients: FleetConnection[] = [];
  before(async () => {
    stack = await startFleetStack({
      seed: [
        {
          name: 'fleet',
          developerProviderName: FLEET_PROVIDER,
          allowUnauthenticatedIdentities: true,
          allowClassicFlow: true,
          supportedLoginProviders: { [FB]: 'fleet-app-id' },
        },
      ],
    });
  });
  after(async () => {
    await stack.stop();
    for (const s of stsClients) s.destroy();
    for (const r of deafClients) r.destroy();
  });
  const instance = (
    fleetOptions: Partial<RedisFleetOptions> = {},
    options: Partial<BrokerOptions> = {},
  ): Promise<FleetInstance> => {
    const stsClient = emulatorStsClient(stack.emu);
    stsClients.push(stsClient);
    return stack.instance({ stsClient, ...options }, { ...HEALTHY, ...fleetOptions });
  };
  /**
   * A Redis client for an instance that never hears a wake-up (its subscriber subscribes to nothing)
   * and, with a long `syncIntervalMs`, learns other instances' changes only when it reads the log
   * itself: messages lost or late, as the order of two connections never promises otherwise.
   */
  const deafClient = async (): Promise<FleetRedisClient> => {
    const redis = await stack.connect();
    deafClients.push(redis);
    const deaf = {
      isReady: true,
      on: () => undefined,
      connect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      sSubscribe: () => Promise.resolve(),
      destroy: () => undefined,
    };
    // The client itself (a single client or a cluster, as the tier tells them apart), but for its
    // subscriber. Read with the client as `this`: its getters read its own private fields.
    const client = new Proxy(redis, {
      get(target, prop) {
        if (prop === 'duplicate') return () => deaf;
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return asFleetClient(client);
  };
  const sts = (): number => stack.calls()[STS] ?? 0;
  /** Waits until `b` has applied `n` changes of other instances. */
  const applied = (b: Broker, n: number) => eventually(() => (b.stats().fleet?.invalidationsApplied ?? 0) >= n);

  void it('300 concurrent callers of one (user, scope) on three instances: one STS call and one token call', async () => {
    const instances = [await instance(), await instance(), await instance()];
    stack.emu.resetCounters();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => instances[i % 3]!.broker.getScopedCredentials('sc-many', SCOPE)),
    );
    assert.deepEqual(stack.calls(), { [TOKEN]: 1, GetIdentityPoolRoles: 1, [STS]: 1 });
    assert.equal(new Set(results.map((c) => c.accessKeyId)).size, 1, 'every instance hands out the same credentials');
    const stats = instances.map((i) => i.broker.stats().fleet);
    assert.equal(
      stats.reduce((n, s) => n + (s?.sharedLoads ?? 0), 0),
      2,
      'one shared load of the scope and one of the token',
    );
  });

  void it('a second instance serves the first one entry: no STS call, no Cognito call', async () => {
    const a = await instance();
    const b = await instance();
    const first = await a.broker.getScopedCredentials('sc-second', SCOPE);
    stack.emu.resetCounters();
    const second = await b.broker.getScopedCredentials('sc-second', SCOPE);
    assert.deepEqual(stack.calls(), {});
    assert.equal(second.accessKeyId, first.accessKeyId);
    assert.equal(second.sessionToken, first.sessionToken);
    assert.equal(second.expiration, first.expiration);
    assert.equal(b.broker.stats().fleet?.sharedHits, 1);
    // Another scope of the same user is its own entry: one STS call, B's token from the tier (and
    // B's one read of the pool's role, the default role).
    await b.broker.getScopedCredentials('sc-second', { ...SCOPE, durationSeconds: 1800 });
    assert.deepEqual(stack.calls(), { GetIdentityPoolRoles: 1, [STS]: 1 });
  });

  void it('a link, an unlink, a merge or forgetUser on one instance: the others load again', async () => {
    const a = await instance();
    const b = await instance();
    const c = await instance();
    let changes = 0;
    /** The user's scoped credentials on B then C after a change on A: one STS call for both. */
    const afterChange = async (userId: string, before: IdentityCredentials): Promise<IdentityCredentials> => {
      changes += 1;
      await applied(b.broker, changes);
      await applied(c.broker, changes);
      const calls = sts();
      const onB = await b.broker.getScopedCredentials(userId, SCOPE);
      const onC = await c.broker.getScopedCredentials(userId, SCOPE);
      assert.notEqual(onB.accessKeyId, before.accessKeyId, 'B served the entry from before the change');
      assert.equal(onC.accessKeyId, onB.accessKeyId, 'C loaded again instead of taking B entry');
      assert.equal(sts(), calls + 1);
      return onB;
    };
    /** The user's scoped credentials cached on every instance (one STS call). */
    const everywhere = async (userId: string): Promise<IdentityCredentials> => {
      const got = await Promise.all([a, b, c].map((i) => i.broker.getScopedCredentials(userId, SCOPE)));
      assert.equal(new Set(got.map((x) => x.accessKeyId)).size, 1);
      return got[0]!;
    };

    // Link: the user's identity stays, its credentials are loaded again.
    let before = await everywhere('sc-link');
    await a.broker.linkLogin('sc-link', FB, stack.emu.mintProviderToken(FB, 'fb-sc-link'));
    const linked = await afterChange('sc-link', before);
    assert.equal(linked.identityId, before.identityId);

    // Unlink: the user gets a new identity on its next load.
    before = await everywhere('sc-unlink');
    await a.broker.unlinkDeveloperUser('sc-unlink');
    const unlinked = await afterChange('sc-unlink', before);
    assert.notEqual(unlinked.identityId, before.identityId);

    // Merge: the source user moves to the destination's identity.
    const destination = (await b.broker.getToken('sc-dest')).identityId;
    before = await everywhere('sc-src');
    await a.broker.mergeUsers('sc-dest', 'sc-src');
    const merged = await afterChange('sc-src', before);
    assert.equal(merged.identityId, destination);
    assert.notEqual(before.identityId, destination);

    // forgetUser: a cache hint, published to the others.
    before = await everywhere('sc-forget');
    a.broker.forgetUser('sc-forget');
    await afterChange('sc-forget', before);
  });

  void it('a merge elsewhere overlapping a scoped load: neither stored nor served with the old identity, also by an instance that has not heard of the merge', async () => {
    const inner = emulatorStsClient(stack.emu);
    stsClients.push(inner);
    const held = holdingStsClient(inner);
    const one = await stack.instance(
      { stsClient: held.client },
      { ...HEALTHY, client: await deafClient(), syncIntervalMs: 60_000 },
    );
    const two = await instance();
    const a = (await two.broker.getToken('ovs-a')).identityId;
    // B joins A's identity; instance one caches B's token (naming A's identity).
    await two.broker.mergeUsers('ovs-a', 'ovs-b');
    const c = (await two.broker.getToken('ovs-c')).identityId;
    assert.equal((await one.broker.getToken('ovs-b')).identityId, a);
    const hold = held.holdNext();
    const loadB = one.broker.getScopedCredentials('ovs-b', SCOPE);
    await hold.answered;
    // STS answered B for A's identity; before the answer reaches instance one, A (and so B) moves to C.
    await two.broker.mergeUsers('ovs-c', 'ovs-a');
    hold.release();
    assert.notEqual(a, c);
    assert.equal((await loadB).identityId, c, 'instance one served B credentials of the pre-merge identity');
    const three = await instance();
    assert.equal(
      (await three.broker.getScopedCredentials('ovs-b', SCOPE)).identityId,
      c,
      'a fresh instance got a stale shared entry',
    );
    assert.equal((await one.broker.getScopedCredentials('ovs-b', SCOPE)).identityId, c);
  });

  void it('brokers with different default roles (classicFlow.roleArn) share no scoped entry', async () => {
    // Roles of no pool: the emulator's STS lets any of its tokens assume them.
    const role = (name: string) => ({ classicFlow: { roleArn: `arn:aws:iam::123456789012:role/${name}` } });
    const a = await instance({}, role('fleet-reader'));
    const b = await instance({}, role('fleet-reader'));
    const c = await instance({}, role('fleet-writer'));
    const onA = await a.broker.getScopedCredentials('sc-roles', SCOPE);
    const calls = sts();
    assert.equal((await b.broker.getScopedCredentials('sc-roles', SCOPE)).accessKeyId, onA.accessKeyId);
    assert.equal(sts(), calls, 'the same default role: shared');
    const onC = await c.broker.getScopedCredentials('sc-roles', SCOPE);
    assert.notEqual(onC.accessKeyId, onA.accessKeyId, 'another default role was served the first one credentials');
    assert.equal(sts(), calls + 1);
  });

  void it('no session policy, scope hash, user id, identity id or secret in any key, value or command', async () => {
    const ledger = new SecretLedger();
    ledger.add(FLEET_KEY);
    const monitor = await stack.monitor();
    const listener = await stack.listen();
    try {
      const a = await instance({ prefix: 'scoped' });
      const b = await instance({ prefix: 'scoped' });
      const users = ['ada.lovelace@example.com', 'alan.turing@example.com'];
      ledger.add(...users);
      for (const u of users) {
        // The policy names the user (the usual per-user prefix): neither may reach Redis.
        const scope = { policy: uploadPolicy(`users/${u}`), durationSeconds: 900 };
        // The policy as sent and a part of it free of quotes (MONITOR and the dump escape them).
        ledger.add(scope.policy, `arn:aws:s3:::fleet-uploads/users/${u}/*`);
        ledger.add(givenScopeHash(checkScope(scope, 3600, 300)));
        for (const got of await Promise.all([a, b].map((i) => i.broker.getScopedCredentials(u, scope)))) {
          ledger.add(got.identityId, got.accessKeyId, got.secretAccessKey, got.sessionToken);
        }
        ledger.add((await b.broker.getToken(u)).token);
      }
      await a.broker.mergeUsers(users[0]!, users[1]!);
      const moved = await b.broker.getScopedCredentials(users[1]!, {
        policy: uploadPolicy(`users/${users[1]!}`),
        durationSeconds: 900,
      });
      ledger.add(moved.secretAccessKey, moved.sessionToken);
      // Let the last commands and messages arrive.
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      monitor.stop();
      listener.stop();
    }
    const [commands, messages] = [monitor.lines, listener.lines];
    assert.ok(commands.length > 10 && messages.length > 3, `${commands.length} commands, ${messages.length} messages`);
    const dump = await stack.dump();
    assert.match(dump, /:e:scoped:/, 'scoped entries are in Redis');
    ledger.assertNoLeak(`${dump}\n${commands.join('\n')}\n${messages.join('\n')}`);
  });
});
