import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBrokerError } from '../../../src/index.js';
import { Entries } from '../../../src/broker/entries.js';
import { resolveBrokerOptions } from '../../../src/broker/options.js';
import { fakeJwt, DEV_PROVIDER, POOL_ID } from '../../helpers/broker-fake-client.js';
import { logSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

function entries(refreshAheadSeconds = 60) {
  const clock = new ManualClock();
  const logs = logSink();
  const o = resolveBrokerOptions({
    identityPoolId: POOL_ID,
    developerProviderName: DEV_PROVIDER,
    clock,
    refreshAheadSeconds,
  });
  return { clock, logs, e: new Entries(o, logs.logger) };
}

const credentialsContext = {
  identityId: 'us-east-1:1',
  userId: 'u1',
  guest: false,
  clientInput: false,
  tags: undefined,
};

void describe('cache entries', () => {
  void it('refreshes between half of the servable life and the refresh-ahead point', () => {
    const { e } = entries(60);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 2, max: 86_400_000 }), (start, life) => {
        const validUntil = start + life;
        const at = e.refreshPoint(start, validUntil);
        assert.ok(at >= start + Math.floor(life / 2), 'never before half its life');
        assert.ok(at <= Math.max(validUntil - 60_000, start + Math.floor(life / 2)), 'by the refresh-ahead point');
        assert.ok(at <= validUntil);
      }),
    );
  });

  void it('refreshes at the end of validity with refreshAheadSeconds 0', () => {
    assert.equal(entries(0).e.refreshPoint(1000, 5000), 5000);
  });

  void it('serves a token until exp − grace, and no longer than its own lifetime on the local clock', () => {
    const { clock, e } = entries();
    const now = clock.now();
    const iat = Math.floor(now / 1000);
    // Cognito's clock 10 minutes ahead: exp is far, but the token lives 900 s from when it was sent.
    const token = fakeJwt({ iat: iat + 600, exp: iat + 600 + 900 });
    const entry = e.token('u1', { IdentityId: 'us-east-1:1', Token: token }, now);
    assert.equal(entry.expiresAt, (iat + 1500) * 1000);
    assert.equal(entry.validUntil, now + 900_000 - 300_000);
    assert.ok(entry.refreshAt <= entry.validUntil);
    assert.equal(e.clockOffsetMs, (iat + 600) * 1000 - now);
  });

  void it('stops serving credentials earlier by the measured offset when Cognito runs ahead', () => {
    const { clock, e } = entries();
    const now = clock.now();
    const iat = Math.floor(now / 1000) + 120;
    e.token('u1', { IdentityId: 'us-east-1:1', Token: fakeJwt({ iat, exp: iat + 900 }) }, now);
    const expiration = new Date(now + 3_600_000);
    const c = e.credentials(
      credentialsContext,
      { Credentials: { AccessKeyId: 'AK', SecretKey: 'S', SessionToken: 'T', Expiration: expiration } },
      now,
    );
    assert.equal(c.validUntil, expiration.getTime() - (iat * 1000 - now) - 300_000);
  });

  void it('refuses incomplete answers as retryable and already-expired ones as a misconfigured clock', () => {
    const { clock, e, logs } = entries();
    const incomplete = (() => {
      try {
        e.token('u1', { IdentityId: 'us-east-1:1' }, clock.now());
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.ok(isBrokerError(incomplete));
    assert.deepEqual([incomplete.code, incomplete.retryable], ['ERR_COGNITO_UNAVAILABLE', true]);
    const past = new Date(clock.now() + 60_000);
    assert.throws(
      () =>
        e.credentials(
          credentialsContext,
          { Credentials: { AccessKeyId: 'AK', SecretKey: 'S', SessionToken: 'T', Expiration: past } },
          clock.now(),
        ),
      (err: unknown) => isBrokerError(err) && err.code === 'ERR_MISCONFIGURED',
    );
    assert.equal(logs.withMsg('cognito broker misconfigured: local clock is too far off').length, 1);
  });
});
