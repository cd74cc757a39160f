// The classic flow's default STS client (no `stsClient` option): the real AWS SDK, found through
// AWS_ENDPOINT_URL_STS (the emulator), the pool's region; and STS's own bucket in the quota
// governor. Each test file runs in its own process: the environment set here touches no other suite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBroker, isBrokerError } from '../../src/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { DOCUMENTED_QUOTAS } from '../../src/broker/quota/options.js';
import { rejectionOf } from '../helpers/broker-fixture.js';

const DEV = 'login.default-sts.test';

void describe('broker: the default STS client', () => {
  let emu: RunningEmulator;
  let poolId: string;
  before(async () => {
    emu = await startEmulator({
      region: 'eu-west-1',
      seed: [{ name: 'default-sts', developerProviderName: DEV, allowClassicFlow: true }],
    });
    poolId = emu.pools[0]!.identityPoolId;
    process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY = emu.endpoint;
    process.env.AWS_ENDPOINT_URL_STS = emu.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_REGION;
  });
  after(async () => {
    await emu.stop();
  });

  void it('reaches the STS of AWS_ENDPOINT_URL_STS in the pool region, built on the first scoped call', async () => {
    const b = createBroker({ identityPoolId: poolId, developerProviderName: DEV });
    emu.resetCounters();
    const c = await b.getScopedCredentials('sts-user-1', { durationSeconds: 900 });
    assert.match(c.accessKeyId, /^ASIA/);
    assert.match(c.identityId, /^eu-west-1:/);
    assert.equal(emu.counters().AssumeRoleWithWebIdentity, 1);
    assert.deepEqual(b.stats().upstreamCalls, {
      GetOpenIdTokenForDeveloperIdentity: 1,
      GetIdentityPoolRoles: 1,
      AssumeRoleWithWebIdentity: 1,
    });
  });

  void it('aborts a call with its signal', async () => {
    const b = createBroker({ identityPoolId: poolId, developerProviderName: DEV });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.equal(await rejectionOf(b.getScopedCredentials('sts-user-2', {}, { signal: controller.signal })), reason);
  });

  void it("governs STS's own quota: a documented default, and an option of the governor", async () => {
    assert.equal(DOCUMENTED_QUOTAS.AssumeRoleWithWebIdentity, 600);
    const b = createBroker({
      identityPoolId: poolId,
      developerProviderName: DEV,
      quota: { maxWaitMs: 0, operations: { AssumeRoleWithWebIdentity: { rate: 0.001, burst: 1 } } },
    });
    await b.getScopedCredentials('sts-user-3', { durationSeconds: 900 });
    emu.resetCounters();
    const err = await rejectionOf(b.getScopedCredentials('sts-user-3', { durationSeconds: 1800 }));
    assert.ok(isBrokerError(err));
    assert.equal(err.code, 'ERR_COGNITO_THROTTLED');
    assert.equal(b.stats().quotaRefused.AssumeRoleWithWebIdentity, 1);
    assert.deepEqual(emu.counters(), {});
  });
});
