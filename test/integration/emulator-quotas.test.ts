// The opt-in documented quotas (`quotas: 'aws'`) under concurrent load from the real SDK, on a clock
// that stands still: exactly the quota passes per second, per region; the rest meet
// TooManyRequestsException as production would. Counts only, never elapsed time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { DEV_PROVIDER, devPool, rejection, setup, type Fixture } from './emulator-fixture.js';

/** Runs the calls at once; counts the outcomes (anything but success or throttling fails the test). */
async function outcomes(calls: readonly (() => Promise<unknown>)[]): Promise<{ ok: number; throttled: number }> {
  const settled = await Promise.allSettled(calls.map((c) => c()));
  let ok = 0;
  let throttled = 0;
  for (const r of settled) {
    if (r.status === 'fulfilled') ok++;
    else {
      const err = r.reason as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      assert.equal(err.name, 'TooManyRequestsException', String(err.message));
      assert.equal(err.message, 'Rate exceeded');
      assert.equal(err.$metadata?.httpStatusCode, 400);
      throttled++;
    }
  }
  return { ok, throttled };
}

function times<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

void describe('emulator: the documented quotas (quotas: aws)', () => {
  let f: Fixture;
  let eu: CognitoIdentity;
  let usPool: string;
  let euPool: string;
  before(async () => {
    f = await setup({ quotas: 'aws' });
    eu = new CognitoIdentity({
      endpoint: f.emu.endpoint,
      region: 'eu-central-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    usPool = await devPool(f.client, { allowUnauth: true });
    euPool = await devPool(eu, { allowUnauth: true });
    f.clock.advanceSeconds(1);
  });
  after(async () => {
    eu.destroy();
    await f.stop();
  });

  void it('lets 50 GetOpenIdTokenForDeveloperIdentity calls a second through per region', async () => {
    const token = (client: CognitoIdentity, pool: string, user: string) => () =>
      client.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool, Logins: { [DEV_PROVIDER]: user } });
    const [us, euOut] = await Promise.all([
      outcomes(times(80, (i) => token(f.client, usPool, `us-${String(i)}`))),
      outcomes(times(60, (i) => token(eu, euPool, `eu-${String(i)}`))),
    ]);
    assert.deepEqual(us, { ok: 50, throttled: 30 });
    assert.deepEqual(euOut, { ok: 50, throttled: 10 });
    f.clock.advanceSeconds(1);
    assert.deepEqual(await outcomes(times(55, (i) => token(f.client, usPool, `next-${String(i)}`))), {
      ok: 50,
      throttled: 5,
    });
    f.clock.advanceSeconds(1);
  });

  void it('holds GetId to 25, ListIdentities to 5 and DeleteIdentities to 10 a second', async () => {
    assert.deepEqual(await outcomes(times(40, () => () => f.client.getId({ IdentityPoolId: usPool }))), {
      ok: 25,
      throttled: 15,
    });
    assert.deepEqual(
      await outcomes(times(8, () => () => f.client.listIdentities({ IdentityPoolId: usPool, MaxResults: 1 }))),
      { ok: 5, throttled: 3 },
    );
    const unknown = 'us-east-1:00000000-0000-0000-0000-000000000000';
    assert.deepEqual(
      await outcomes(times(12, () => () => f.client.deleteIdentities({ IdentityIdsToDelete: [unknown] }))),
      { ok: 10, throttled: 2 },
    );
    f.clock.advanceSeconds(1);
  });

  void it('holds GetOpenIdToken and GetCredentialsForIdentity to 200 a second', async () => {
    const guest = (await f.client.getId({ IdentityPoolId: usPool })).IdentityId!;
    assert.deepEqual(await outcomes(times(210, () => () => f.client.getOpenIdToken({ IdentityId: guest }))), {
      ok: 200,
      throttled: 10,
    });
    assert.deepEqual(
      await outcomes(times(204, () => () => f.client.getCredentialsForIdentity({ IdentityId: guest }))),
      { ok: 200, throttled: 4 },
    );
    // Operations without a documented quota are not limited.
    assert.deepEqual(await outcomes(times(60, () => () => f.client.describeIdentityPool({ IdentityPoolId: usPool }))), {
      ok: 60,
      throttled: 0,
    });
    f.clock.advanceSeconds(1);
  });

  void it('counts throttled calls, and the budget comes back a second later', async () => {
    f.emu.resetCounters();
    await outcomes(times(30, () => () => f.client.getId({ IdentityPoolId: usPool })));
    assert.equal(f.emu.counters().GetId, 30);
    assert.equal((await rejection(f.client.getId({ IdentityPoolId: usPool }))).name, 'TooManyRequestsException');
    f.clock.advanceSeconds(1);
    assert.match((await f.client.getId({ IdentityPoolId: usPool })).IdentityId!, /^us-east-1:/);
  });
});

void describe('emulator: no quotas unless asked for', () => {
  let f: Fixture;
  before(async () => {
    f = await setup();
  });
  after(async () => {
    await f.stop();
  });

  void it('lets any number of calls through by default', async () => {
    const pool = await devPool(f.client, { allowUnauth: true });
    assert.deepEqual(await outcomes(times(60, () => () => f.client.getId({ IdentityPoolId: pool }))), {
      ok: 60,
      throttled: 0,
    });
  });
});
