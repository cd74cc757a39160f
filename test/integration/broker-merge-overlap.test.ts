// A token load that a change to its identity overlaps is loaded again, for users the change does
// not name too: B shares A's identity; B's load is answered by Cognito, A is merged into C before
// the answer reaches the broker; B must never be served (or keep) the pre-merge identity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBroker } from '../../src/broker/create-broker.js';
import { startEmulator } from '../../src/emulator/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import { holdingClient } from '../helpers/held-answers.js';

const DEV = 'login.overlap.app';

void describe('broker: a change overlapping a load of a user it does not name', () => {
  void it('serves and keeps the merged identity, not the answer Cognito gave before the merge', async () => {
    const emu = await startEmulator({ seed: [{ name: 'overlap', developerProviderName: DEV }] });
    const sdk = emulatorClient(emu);
    try {
      const held = holdingClient(sdk);
      const broker = createBroker({
        identityPoolId: emu.pools[0]?.identityPoolId ?? '',
        developerProviderName: DEV,
        client: held.client,
      });
      const a = await broker.getToken('user-a');
      // B joins A's identity.
      await broker.mergeUsers('user-a', 'user-b');
      const c = await broker.getToken('user-c');
      broker.forgetUser('user-b');
      const hold = held.holdToken('user-b');
      const loadB = broker.getToken('user-b');
      await hold.answered;
      // Cognito answered B with A's identity; before the answer arrives, A (and so B) moves to C.
      await broker.mergeUsers('user-c', 'user-a');
      hold.release();
      assert.equal((await loadB).identityId, c.identityId, 'B was served its pre-merge identity');
      assert.equal((await broker.getToken('user-b')).identityId, c.identityId, 'B kept its pre-merge identity');
      assert.notEqual(a.identityId, c.identityId);
    } finally {
      sdk.destroy();
      await emu.stop();
    }
  });
});
