// Which kinds of Redis `npm run bench -- fleet` measures, and how a figure's row names its kind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { figureOn, redisKindsFrom } from '../../../bench/lib/fleet-redis.js';

void describe('bench fleet group: kinds of Redis', () => {
  void it('measures the single node then the cluster unless BENCH_FLEET_REDIS names one', () => {
    assert.deepEqual(redisKindsFrom(undefined), ['single', 'cluster']);
    assert.deepEqual(redisKindsFrom(''), ['single', 'cluster']);
    assert.deepEqual(redisKindsFrom('cluster'), ['cluster']);
    assert.deepEqual(redisKindsFrom(' cluster , single'), ['single', 'cluster']);
  });

  void it('refuses a kind it does not know, naming the variable', () => {
    assert.throws(() => redisKindsFrom('sentinel'), /BENCH_FLEET_REDIS: "sentinel"/);
  });

  void it('names the cluster in a cluster figure and leaves the single node’s name as it was', () => {
    assert.equal(figureOn('single', 'fleet: upstream economy'), 'fleet: upstream economy');
    assert.equal(figureOn('cluster', 'fleet: upstream economy'), 'fleet: upstream economy (cluster)');
  });
});
