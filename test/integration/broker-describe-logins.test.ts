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

void describe('broker describeIdentity: public logins only', () => {
  void it('describeIdentity lists public logins only, never the developer provider', () =>
    withBroker(async (b, emu) => {
      const before = await b.describeIdentity('u1');
      assert.deepEqual(before.logins, []);
      const linked = await b.linkLogin('u1', FB, emu.mintProviderToken(FB, 'fb-u1'));
      assert.deepEqual(linked.logins, [FB]);
      assert.deepEqual((await b.describeIdentity('u1')).logins, [FB]);
      assert.deepEqual((await b.unlinkLogin('u1', FB)).logins, []);
    }));

  void it('still refuses to upgrade an identity owned by another developer user as a guest', () =>
    withBroker(async (b) => {
      const other = await b.getToken('owner');
      await assert.rejects(b.upgradeGuest('intruder', other.identityId), { code: 'ERR_FORBIDDEN' });
      assert.deepEqual((await b.lookupUsers(other.identityId)).userIds, ['owner']);
    }));
});
