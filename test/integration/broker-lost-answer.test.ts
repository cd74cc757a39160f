import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBroker } from '../../src/broker/create-broker.js';
import { isBrokerError } from '../../src/errors.js';
import { startEmulator } from '../../src/emulator/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import { lossyClient } from '../helpers/lossy-client.js';

const DEV = 'login.lost.app';

void describe('an identity change whose answer is lost (one process)', () => {
  void it('drops the cached identity as if the change was made, and reports the timeout', async () => {
    const emu = await startEmulator({ seed: [{ name: 'lost', developerProviderName: DEV }] });
    const sdk = emulatorClient(emu);
    try {
      const { client, lose } = lossyClient(sdk);
      const broker = createBroker({
        identityPoolId: emu.pools[0]?.identityPoolId ?? '',
        developerProviderName: DEV,
        client,
      });
      const old = (await broker.getToken('lost-user')).identityId;
      lose.add('UnlinkDeveloperIdentityCommand');
      const err = await broker.unlinkDeveloperUser('lost-user').then(
        () => undefined,
        (e: unknown) => e,
      );
      lose.clear();
      assert.ok(isBrokerError(err));
      assert.equal(err.code, 'ERR_COGNITO_TIMEOUT');
      assert.notEqual((await broker.getToken('lost-user')).identityId, old);
    } finally {
      sdk.destroy();
      await emu.stop();
    }
  });

  void it('keeps the cache when Cognito certainly refused the change', async () => {
    const emu = await startEmulator({ seed: [{ name: 'lost', developerProviderName: DEV }] });
    const sdk = emulatorClient(emu);
    try {
      const { client, refuse } = lossyClient(sdk);
      const broker = createBroker({
        identityPoolId: emu.pools[0]?.identityPoolId ?? '',
        developerProviderName: DEV,
        client,
      });
      const token = await broker.getToken('kept-user');
      refuse.add('UnlinkDeveloperIdentityCommand');
      await assert.rejects(broker.unlinkDeveloperUser('kept-user'));
      refuse.clear();
      const before = broker.stats().tokens.misses;
      assert.equal((await broker.getToken('kept-user')).identityId, token.identityId);
      assert.equal(broker.stats().tokens.misses, before);
    } finally {
      sdk.destroy();
      await emu.stop();
    }
  });
});
