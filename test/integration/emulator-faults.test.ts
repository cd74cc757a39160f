import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DEV_PROVIDER, rejection, setup, type Fixture } from './emulator-fixture.js';

void describe('emulator: faults and counters', () => {
  let f: Fixture;
  let poolId: string;
  before(async () => {
    f = await setup({ seed: [{ name: 'faults', developerProviderName: DEV_PROVIDER }] });
    poolId = f.emu.pools[0]!.identityPoolId;
  });
  after(async () => {
    await f.stop();
  });
  beforeEach(() => {
    f.emu.clearFaults();
    f.emu.resetCounters();
  });

  const devCall = () =>
    f.client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: poolId, Logins: { [DEV_PROVIDER]: 'u' } });

  void it('counts calls per operation, including failed ones', async () => {
    await devCall();
    await devCall();
    await rejection(f.client.describeIdentity({ IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000' }));
    assert.deepEqual(f.emu.counters(), { GetOpenIdTokenForDeveloperIdentity: 2, DescribeIdentity: 1 });
    f.emu.resetCounters();
    assert.deepEqual(f.emu.counters(), {});
  });

  void it('throttles past the configured rate with TooManyRequestsException', async () => {
    f.emu.setFault('GetOpenIdTokenForDeveloperIdentity', { throttleRps: 2 });
    await devCall();
    await devCall();
    const err = await rejection(devCall());
    assert.equal(err.name, 'TooManyRequestsException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    // The window is one second of the emulator clock.
    f.clock.advanceSeconds(1.5);
    await devCall();
    // Other operations are not throttled.
    await f.client.describeIdentityPool({ IdentityPoolId: poolId });
    assert.equal(f.emu.counters().GetOpenIdTokenForDeveloperIdentity, 4);
  });

  void it('fails the next N calls with the given error, then recovers', async () => {
    f.emu.setFault('*', { error: 'InternalErrorException', count: 2 });
    const e1 = await rejection(devCall());
    assert.equal(e1.name, 'InternalErrorException');
    assert.equal(e1.$metadata.httpStatusCode, 500);
    const e2 = await rejection(f.client.describeIdentityPool({ IdentityPoolId: poolId }));
    assert.equal(e2.name, 'InternalErrorException');
    await devCall();
  });

  void it('adds latency', async () => {
    // Told by the order in which concurrent calls answer, not by elapsed time.
    const order: string[] = [];
    const describe = async (label: string): Promise<void> => {
      await f.client.describeIdentityPool({ IdentityPoolId: poolId });
      order.push(label);
    };
    const listPools = async (): Promise<void> => {
      await f.client.listIdentityPools({ MaxResults: 10 });
      order.push('list');
    };
    f.emu.setFault('DescribeIdentityPool', { latencyMs: 300 });
    await Promise.all([describe('slow describe'), listPools()]);
    assert.deepEqual(order, ['list', 'slow describe']);
    f.emu.setFault('DescribeIdentityPool', null);
    f.emu.setFault('ListIdentityPools', { latencyMs: 300 });
    order.length = 0;
    await Promise.all([describe('describe'), listPools()]);
    assert.deepEqual(order, ['describe', 'list']);
    f.emu.setFault('ListIdentityPools', null);
  });

  void it('lets the SDK retry through an injected throttle', async () => {
    f.emu.setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'TooManyRequestsException', count: 1 });
    const { CognitoIdentity } = await import('@aws-sdk/client-cognito-identity');
    const retrying = new CognitoIdentity({
      endpoint: f.emu.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 3,
    });
    try {
      const out = await retrying.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'u' },
      });
      assert.ok(out.Token);
      assert.equal(out.$metadata.attempts, 2);
      assert.equal(f.emu.counters().GetOpenIdTokenForDeveloperIdentity, 2);
    } finally {
      retrying.destroy();
    }
  });

  void it('is controllable over the loopback control endpoint', async () => {
    const put = await fetch(`${f.emu.endpoint}/__emulator/faults/DescribeIdentityPool`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'ResourceNotFoundException', count: 1 }),
    });
    assert.ok(put.status < 300, `control PUT answered ${put.status}`);
    const err = await rejection(f.client.describeIdentityPool({ IdentityPoolId: poolId }));
    assert.equal(err.name, 'ResourceNotFoundException');
    const counters = (await (await fetch(`${f.emu.endpoint}/__emulator/counters`)).json()) as Record<string, number>;
    assert.equal(counters.DescribeIdentityPool, 1);
  });
});
