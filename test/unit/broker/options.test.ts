import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker, type BrokerOptions } from '../../../src/index.js';
import { resolveBrokerOptions } from '../../../src/broker/options.js';
import { FakeCognito, POOL_ID, DEV_PROVIDER } from '../../helpers/broker-fake-client.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const base = { identityPoolId: POOL_ID, developerProviderName: DEV_PROVIDER } as const;

function rejects(options: unknown, pattern: RegExp): void {
  assert.throws(
    () => resolveBrokerOptions(options as BrokerOptions),
    (err: unknown) => {
      assert.ok(err instanceof TypeError, 'a TypeError');
      assert.match(err.message, pattern);
      return true;
    },
  );
  assert.throws(() => createBroker(options as BrokerOptions), TypeError);
}

void describe('broker options', () => {
  void it('fills in the documented defaults and derives the region', () => {
    const o = resolveBrokerOptions(base);
    assert.equal(o.region, 'us-east-1');
    assert.equal(o.tokenDurationSeconds, 900);
    assert.equal(o.skewGraceSeconds, 300);
    assert.equal(o.refreshAheadSeconds, 60);
    assert.equal(o.cacheMax, 10_000);
    assert.equal(o.timeoutMs, 5000);
    assert.equal(o.maxAttempts, 3);
    assert.equal(o.loginsKey, 'cognito-identity.amazonaws.com');
    assert.equal(o.client, undefined);
    assert.ok(Object.isFrozen(o));
  });

  void it('uses the China logins key for cn-* pools', () => {
    const o = resolveBrokerOptions({ ...base, identityPoolId: 'cn-north-1:11111111-2222-3333-4444-555555555555' });
    assert.equal(o.region, 'cn-north-1');
    assert.equal(o.loginsKey, 'cognito-identity.cn-north-1.amazonaws.com.cn');
    const b = createBroker({ ...base, identityPoolId: 'cn-north-1:11111111-2222-3333-4444-555555555555' });
    assert.equal(b.loginsKey, 'cognito-identity.cn-north-1.amazonaws.com.cn');
    assert.equal(b.region, 'cn-north-1');
  });

  void it('rejects a pool id that is not REGION:GUID', () => {
    rejects({ ...base, identityPoolId: 'us-east-1_abc' }, /identityPoolId must be REGION:GUID/);
    rejects({ ...base, identityPoolId: 'abc:123' }, /identityPoolId/);
    rejects({ ...base, identityPoolId: 42 }, /identityPoolId/);
    rejects({ ...base, identityPoolId: `us-east-1:${'a'.repeat(60)}` }, /identityPoolId/);
    rejects({ developerProviderName: DEV_PROVIDER }, /identityPoolId/);
  });

  void it('rejects a missing or malformed developer provider name', () => {
    rejects({ identityPoolId: POOL_ID }, /developerProviderName/);
    rejects({ ...base, developerProviderName: 'has space' }, /developerProviderName/);
    rejects({ ...base, developerProviderName: 'x'.repeat(129) }, /developerProviderName/);
  });

  void it('keeps tokenDurationSeconds within Cognito’s 1–86400 and above twice the grace', () => {
    rejects({ ...base, tokenDurationSeconds: 0 }, /tokenDurationSeconds must be an integer in \[1, 86400\]/);
    rejects({ ...base, tokenDurationSeconds: 86_401 }, /tokenDurationSeconds/);
    rejects({ ...base, tokenDurationSeconds: 1.5 }, /tokenDurationSeconds/);
    rejects({ ...base, tokenDurationSeconds: '900' }, /tokenDurationSeconds/);
    rejects(
      { ...base, tokenDurationSeconds: 600 },
      /skewGraceSeconds \(300\) must be less than half of tokenDurationSeconds \(600\)/,
    );
    assert.equal(resolveBrokerOptions({ ...base, tokenDurationSeconds: 601 }).tokenDurationSeconds, 601);
    assert.equal(
      resolveBrokerOptions({ ...base, tokenDurationSeconds: 1, skewGraceSeconds: 0 }).tokenDurationSeconds,
      1,
    );
    assert.equal(resolveBrokerOptions({ ...base, tokenDurationSeconds: 86_400 }).tokenDurationSeconds, 86_400);
  });

  void it('rejects a negative or fractional grace, refresh-ahead, cache max and timeout', () => {
    rejects({ ...base, skewGraceSeconds: -1 }, /skewGraceSeconds/);
    rejects({ ...base, refreshAheadSeconds: -1 }, /refreshAheadSeconds/);
    rejects({ ...base, refreshAheadSeconds: 0.5 }, /refreshAheadSeconds/);
    rejects({ ...base, cache: { max: 0 } }, /cache\.max/);
    rejects({ ...base, cache: 5 }, /cache must be an object/);
    rejects({ ...base, timeoutMs: 0 }, /timeoutMs/);
    rejects({ ...base, maxAttempts: 11 }, /maxAttempts/);
  });

  void it('rejects injected parts of the wrong shape', () => {
    rejects({ ...base, client: {} }, /client must have a send/);
    rejects({ ...base, clock: { now: 5 } }, /clock must have a now/);
    rejects({ ...base, logger: console }, /logger must be a pino logger/);
    rejects({ ...base, principalTags: { a: 'b' } }, /principalTags must be a function/);
    rejects({ ...base, customRoleArn: 'role/Admin' }, /customRoleArn/);
    rejects({ ...base, loginsKey: '' }, /loginsKey/);
    rejects({ ...base, loginsKey: DEV_PROVIDER }, /loginsKey must differ/);
  });

  void it('refuses maxAttempts together with an injected client', () => {
    const fake = new FakeCognito(new ManualClock());
    rejects({ ...base, client: fake.client, maxAttempts: 2 }, /maxAttempts applies only to the default client/);
  });

  void it('names an unknown option, to catch typos', () => {
    rejects({ ...base, tokenDuration: 900 }, /unknown option "tokenDuration"/);
  });

  void it('does no I/O at construction', () => {
    const fake = new FakeCognito(new ManualClock());
    const broker = createBroker({ ...base, client: fake.client });
    assert.equal(fake.calls.length, 0);
    assert.equal(broker.identityPoolId, POOL_ID);
    // The default client is built lazily: constructing without one needs no AWS configuration.
    assert.doesNotThrow(() => createBroker(base));
    assert.deepEqual(broker.stats().upstreamCalls, {});
  });
});
