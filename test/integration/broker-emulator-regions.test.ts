// The broker with its default client (region derived from the pool id) against one emulator that
// serves pools in two regions. The emulator is found through the SDK's standard endpoint variable;
// each test file runs in its own process, so setting it here touches no other suite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { createBroker } from '../../src/index.js';
import { describeSessionToken, startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';

const DEV = 'login.regions.test';
const KEY = { accessKeyId: 'AKIDREGIONS', secretAccessKey: 'regions/secret/0000000000000000000000000' };

void describe('broker: pools in another region than the emulator’s default', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({
      strictSigV4: [KEY],
      seed: [
        { name: 'frankfurt', developerProviderName: DEV, region: 'eu-central-1' },
        { name: 'virginia', developerProviderName: DEV },
      ],
    });
    process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY = emu.endpoint;
    process.env.AWS_ACCESS_KEY_ID = KEY.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = KEY.secretAccessKey;
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  });
  after(async () => {
    await emu.stop();
  });

  void it('serves a broker for an eu-central-1 pool and one for a us-east-1 pool from one emulator', async () => {
    const [frankfurt, virginia] = emu.pools;
    assert.match(frankfurt!.identityPoolId, /^eu-central-1:/);
    assert.match(virginia!.identityPoolId, /^us-east-1:/);
    const eu = createBroker({ identityPoolId: frankfurt!.identityPoolId, developerProviderName: DEV });
    const us = createBroker({ identityPoolId: virginia!.identityPoolId, developerProviderName: DEV });

    const euToken = await eu.getToken('alice');
    const usToken = await us.getToken('alice');
    assert.match(euToken.identityId, /^eu-central-1:/);
    assert.match(usToken.identityId, /^us-east-1:/);
    assert.equal(decodeProtectedHeader(euToken.token).kid, 'eu-central-1-1');
    assert.equal(decodeProtectedHeader(usToken.token).kid, 'us-east-1-1');

    const euCreds = await eu.getCredentials('alice');
    assert.equal(euCreds.identityId, euToken.identityId);
    assert.match(euCreds.accessKeyId, /^ASIA/);
    assert.equal(describeSessionToken(euCreds.sessionToken)?.roleArn, frankfurt!.roles.authenticated);
    assert.equal((await us.getCredentials('alice')).identityId, usToken.identityId);
  });
});
