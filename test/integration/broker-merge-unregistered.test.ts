import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broker } from '../../src/broker/types.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { withEmulatorBroker } from '../helpers/emulator-sdk.js';

const DEV = 'login.fixes.app';
const FB = 'graph.facebook.com';

const SEED = {
  seed: [
    {
      name: 'fixes',
      developerProviderName: DEV,
      allowUnauthenticatedIdentities: true,
      supportedLoginProviders: { [FB]: 'fb-app' },
    },
  ],
};

function withBroker(fn: (b: Broker, emu: RunningEmulator) => Promise<void>): Promise<void> {
  return withEmulatorBroker(SEED, fn);
}

void describe('broker mergeUsers', () => {
  void it('merges a source user that never had an identity onto the destination identity', () =>
    withBroker(async (b) => {
      const dest = await b.getToken('dest-user');
      const merged = await b.mergeUsers('dest-user', 'never-seen-user');
      assert.equal(merged.identityId, dest.identityId);
      assert.deepEqual([...(await b.lookupUsers(dest.identityId)).userIds].sort(), ['dest-user', 'never-seen-user']);
      assert.equal((await b.getToken('never-seen-user')).identityId, dest.identityId);
    }));

  void it('drops every cached user of the source identity, even when the source user itself was not cached', () =>
    withBroker(async (b) => {
      const shared = await b.getToken('source');
      await b.mergeUsers('source', 'companion');
      // companion now shares the source identity and is cached on it; the source user is not cached.
      assert.equal((await b.getToken('companion')).identityId, shared.identityId);
      b.forgetUser('source');
      const dest = await b.getToken('dest');
      assert.equal((await b.mergeUsers('dest', 'source')).identityId, dest.identityId);
      // Cognito moved every login of the source identity, companion included.
      assert.deepEqual([...(await b.lookupUsers(dest.identityId)).userIds].sort(), ['companion', 'dest', 'source']);
      assert.equal((await b.getToken('companion')).identityId, dest.identityId);
      assert.equal((await b.getCredentials('companion')).identityId, dest.identityId);
    }));
});
