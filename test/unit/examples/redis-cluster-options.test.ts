// examples/express-app/redis-clients.ts: the node-redis createCluster options the example app builds
// from REDIS_CLUSTER_NODES. node-redis connects to the nodes it discovers with `defaults` alone, so
// the seeds' TLS and credentials must be there (test/fleet/example-cluster.test.ts runs them on a
// cluster that wants a password).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterOptions, REDIS_COMMAND_MS } from '../../../examples/express-app/redis-clients.js';

void test('the seeds become root nodes by host and port; TLS and credentials go to every node', () => {
  const options = clusterOptions(
    [
      'rediss://app:p%40ss%3Aword@node-1.internal:6380',
      'rediss://app:p%40ss%3Aword@[::1]:7000',
      'rediss://app:p%40ss%3Aword@n3',
    ],
    false,
  );
  assert.deepEqual(options.rootNodes, [
    { socket: { host: 'node-1.internal', port: 6380 } },
    { socket: { host: '::1', port: 7000 } },
    { socket: { host: 'n3', port: 6379 } },
  ]);
  assert.equal(options.defaults.username, 'app');
  assert.equal(options.defaults.password, 'p@ss:word');
  assert.equal('tls' in options.defaults.socket && options.defaults.socket.tls, true);
  assert.ok(!JSON.stringify(options.rootNodes).includes('word'), 'no credentials only in the seeds');
  assert.equal('commandOptions' in options, false, "the tier's client: the tier bounds its own commands");
  assert.equal('disableOfflineQueue' in options.defaults, false);
});

void test('plain redis:// without credentials: no TLS, no user, no password', () => {
  const options = clusterOptions(['redis://127.0.0.1:7000'], false);
  assert.deepEqual(options.rootNodes, [{ socket: { host: '127.0.0.1', port: 7000 } }]);
  assert.equal('tls' in options.defaults.socket, false);
  assert.equal('username' in options.defaults, false);
  assert.equal('password' in options.defaults, false);
});

void test('a password alone (the default user), and the sessions: bounded commands, no offline queue', () => {
  const options = clusterOptions(['redis://:secret-pass@127.0.0.1:7000'], true);
  assert.equal('username' in options.defaults, false);
  assert.equal(options.defaults.password, 'secret-pass');
  assert.equal(options.defaults.disableOfflineQueue, true);
  assert.deepEqual(options.commandOptions, { timeout: REDIS_COMMAND_MS });
});
