// A scoped (classic flow) load that a change to its identity overlaps is loaded again, for users the
// change does not name too: B shares A's identity; STS answers B's AssumeRoleWithWebIdentity with
// credentials of that identity, A is merged into C before the answer reaches the broker; B must
// never be served (or keep) credentials of the pre-merge identity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBroker } from '../../src/broker/create-broker.js';
import { startEmulator } from '../../src/emulator/index.js';
import { emulatorClient, emulatorStsClient } from '../helpers/emulator-sdk.js';
import { holdingStsClient } from '../helpers/held-answers.js';

const DEV = 'login.scoped-overlap.app';
const SCOPE = { durationSeconds: 900 };

void describe('broker: a change overlapping a scoped load of a user it does not name', () => {
  void it('serves and keeps credentials of the merged identity, not those STS gave before the merge', async () => {
    const emu = await startEmulator({
      seed: [{ name: 'scoped-overlap', developerProviderName: DEV, allowClassicFlow: true }],
    });
    const sdk = emulatorClient(emu);
    const sts = emulatorStsClient(emu);
    try {
      const held = holdingStsClient(sts);
      const broker = createBroker({
        identityPoolId: emu.pools[0]?.identityPoolId ?? '',
        developerProviderName: DEV,
        client: sdk,
        stsClient: held.client,
      });
      const a = await broker.getToken('user-a');
      // B joins A's identity; its token (naming that identity) is cached.
      await broker.mergeUsers('user-a', 'user-b');
      assert.equal((await broker.getToken('user-b')).identityId, a.identityId);
      const c = await broker.getToken('user-c');
      const hold = held.holdNext();
      const loadB = broker.getScopedCredentials('user-b', SCOPE);
      await hold.answered;
      // STS answered B for A's identity; before the answer arrives, A (and so B) moves to C.
      await broker.mergeUsers('user-c', 'user-a');
      hold.release();
      assert.notEqual(a.identityId, c.identityId);
      assert.equal((await loadB).identityId, c.identityId, 'B was served credentials of its pre-merge identity');
      const again = await broker.getScopedCredentials('user-b', SCOPE);
      assert.equal(again.identityId, c.identityId, 'B kept credentials of its pre-merge identity');
    } finally {
      sdk.destroy();
      sts.destroy();
      await emu.stop();
    }
  });
});
