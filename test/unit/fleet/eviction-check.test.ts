// The eviction-policy check on a cluster client: every master is read, each within the timeout, so
// one master that cannot be reached neither hides another's eviction nor holds the check up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEvictionPolicy } from '../../../src/fleet/eviction-check.js';
import { logSink } from '../../helpers/log-sink.js';

/** A master's client answering CONFIG GET maxmemory-policy with `policy`. */
function answering(policy: string) {
  return { sendCommand: () => Promise.resolve(['maxmemory-policy', policy]) };
}

/** A cluster client (as `isCluster` tells one) whose masters' clients `clients` gives, by address. */
function cluster(clients: Record<string, () => Promise<unknown>>) {
  return {
    masters: Object.keys(clients).map((address) => ({ address })),
    nodeClient: (node: { address: string }) => clients[node.address]!(),
  };
}

const never = (): Promise<unknown> => new Promise(() => undefined);

void describe('fleet: the eviction check on a cluster', () => {
  void it('reports the evicting master even when another master never connects, within the timeout', async () => {
    const logs = logSink();
    const client = cluster({
      '10.0.0.1:6379': () => Promise.resolve(answering('noeviction')),
      '10.0.0.2:6379': never,
      '10.0.0.3:6379': () => Promise.resolve(answering('allkeys-lru')),
    });
    const started = performance.now();
    const found = await checkEvictionPolicy(client, logs.logger, 100);
    assert.ok(performance.now() - started < 5_000, 'bounded by the timeout');
    assert.deepEqual(found, { policy: 'allkeys-lru', node: '10.0.0.3:6379' });
    const errors = logs.lines().filter((l) => l.level === 50);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.node, '10.0.0.3:6379');
  });

  void it('says a master that never connects could not be read, naming it', async () => {
    const logs = logSink();
    const client = cluster({
      '10.0.0.1:6379': () => Promise.resolve(answering('noeviction')),
      '10.0.0.2:6379': never,
    });
    const found = await checkEvictionPolicy(client, logs.logger, 100);
    assert.equal('unknown' in found && found.node, '10.0.0.2:6379');
    assert.match('unknown' in found ? found.unknown : '', /no answer within 100 ms/);
    assert.equal(logs.lines().filter((l) => l.level === 40).length, 1);
  });

  void it('says nothing when every master runs noeviction', async () => {
    const logs = logSink();
    const client = cluster({
      '10.0.0.1:6379': () => Promise.resolve(answering('noeviction')),
      '10.0.0.2:6379': () => Promise.resolve(answering('noeviction')),
    });
    assert.deepEqual(await checkEvictionPolicy(client, logs.logger, 100), {
      policy: 'noeviction',
      node: '10.0.0.1:6379',
    });
    assert.equal(logs.lines().filter((l) => l.level >= 40).length, 0);
  });
});
