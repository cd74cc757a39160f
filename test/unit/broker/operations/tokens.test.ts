import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../../../src/index.js';
import { DEV_PROVIDER, sdkError } from '../../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf, settle, stateOf } from '../../../helpers/broker-fixture.js';

const OP = 'GetOpenIdTokenForDeveloperIdentity';

void describe('broker token cache', () => {
  void it('refuses a principalTags that returns a Promise with ERR_MISCONFIGURED instead of dropping the tags', async () => {
    // Deliberately mistyped: a principalTags returning a Promise, as a JavaScript caller could pass.
    const principalTags = (() => Promise.resolve({ tier: 'admin' })) as unknown as (
      userId: string,
    ) => Record<string, string>;
    const { broker, fake, logs } = brokerFixture({ principalTags });
    for (const call of [() => broker.getToken('alice'), () => broker.getCredentials('alice')]) {
      const err = await rejectionOf(call());
      assert.ok(isBrokerError(err) && err.code === 'ERR_MISCONFIGURED' && err.status === 500, String(err));
      assert.ok(err.cause instanceof TypeError);
    }
    assert.equal(fake.calls.length, 0, 'no token without its tags');
    const errors = logs.lines().filter((l) => l.level === 50 && /principalTags returned a Promise/.test(l.msg));
    assert.equal(errors.length, 2);
  });

  void it('asks Cognito for the user’s token with the developer login and duration', async () => {
    const { broker, fake } = brokerFixture({ tokenDurationSeconds: 1200 });
    const t = await broker.getToken('alice');
    assert.deepEqual(fake.inputs(OP), [
      { IdentityPoolId: broker.identityPoolId, Logins: { [DEV_PROVIDER]: 'alice' }, TokenDuration: 1200 },
    ]);
    assert.equal(t.identityId, fake.users.get('alice'));
    assert.equal(t.loginsKey, 'cognito-identity.amazonaws.com');
    assert.equal(t.identityPoolId, broker.identityPoolId);
  });

  void it('reuses a cached token until exp − grace and not a millisecond later', async () => {
    const { broker, fake, clock } = brokerFixture({ refreshAheadSeconds: 0 });
    const t0 = clock.now();
    const first = await broker.getToken('alice');
    assert.equal(first.expiresAt, t0 + 900_000, 'expiresAt is the JWT exp');
    clock.advance(600_000 - 1);
    assert.equal((await broker.getToken('alice')).token, first.token);
    assert.equal(fake.count(OP), 1);
    clock.advance(1);
    const second = await broker.getToken('alice');
    assert.notEqual(second.token, first.token);
    assert.equal(fake.count(OP), 2);
  });

  void it('refreshes ahead in the background: one upstream refresh, and no caller waits', async () => {
    const { broker, fake, clock } = brokerFixture(); // refresh 60 s before exp − grace
    const first = await broker.getToken('alice');
    clock.advance(540_000 + 1);
    const release = fake.hold(OP);
    const during = await Promise.all(Array.from({ length: 50 }, () => broker.getToken('alice')));
    assert.ok(
      during.every((t) => t.token === first.token),
      'the still-valid token is served during the refresh',
    );
    assert.equal(fake.count(OP), 2, 'exactly one refresh started');
    assert.equal(broker.stats().tokens.refreshes, 1);
    assert.equal(broker.stats().inFlight, 1);
    release();
    await settle();
    const after = await broker.getToken('alice');
    assert.notEqual(after.token, first.token);
    assert.equal(fake.count(OP), 2);
    assert.equal(broker.stats().tokens.misses, 1);
  });

  void it('serves 1,000 concurrent requests for one user with one Cognito call', async () => {
    const { broker, fake } = brokerFixture();
    const release = fake.hold(OP);
    const all = Array.from({ length: 1000 }, () => broker.getToken('alice'));
    await settle();
    release();
    const tokens = await Promise.all(all);
    assert.equal(new Set(tokens.map((t) => t.token)).size, 1);
    assert.equal(fake.count(OP), 1);
    assert.equal(broker.stats().upstreamCalls[OP], 1);
  });

  void it('passes a failure to every waiter and never caches it', async () => {
    const { broker, fake } = brokerFixture();
    const release = fake.hold(OP);
    fake.failNext(OP, sdkError('TooManyRequestsException', 'Rate exceeded'));
    const all = Array.from({ length: 100 }, () => rejectionOf(broker.getToken('alice')));
    await settle();
    release();
    const errors = await Promise.all(all);
    assert.ok(errors.every((e) => isBrokerError(e) && e.code === 'ERR_COGNITO_THROTTLED' && e.retryable));
    assert.equal(fake.count(OP), 1);
    const ok = await broker.getToken('alice');
    assert.ok(ok.token.length > 0);
    assert.equal(fake.count(OP), 2);
    assert.deepEqual(broker.stats().upstreamErrors, { [OP]: 1 });
  });

  void it('never hands out an expired token, even when its refresh failed', async () => {
    const { broker, fake, clock } = brokerFixture();
    const first = await broker.getToken('alice');
    clock.advance(540_001);
    fake.failNext(OP, sdkError('InternalErrorException', 'boom', 500));
    assert.equal((await broker.getToken('alice')).token, first.token, 'served while the refresh fails');
    await settle();
    assert.equal(fake.count(OP), 2);
    clock.advance(60_000); // now exactly exp − grace
    fake.failNext(OP, sdkError('InternalErrorException', 'boom', 500));
    const err = await rejectionOf(broker.getToken('alice'));
    assert.ok(isBrokerError(err) && err.code === 'ERR_COGNITO_UNAVAILABLE');
    const fresh = await broker.getToken('alice');
    assert.notEqual(fresh.token, first.token);
  });

  void it('pauses after a failed background refresh instead of calling on every read', async () => {
    const { broker, fake, clock } = brokerFixture();
    const first = await broker.getToken('alice');
    clock.advance(540_001);
    fake.failNext(OP, sdkError('TooManyRequestsException', 'Rate exceeded'));
    await broker.getToken('alice');
    await settle();
    assert.equal(fake.count(OP), 2);
    for (let i = 0; i < 50; i += 1) assert.equal((await broker.getToken('alice')).token, first.token);
    await settle();
    assert.equal(fake.count(OP), 2, 'no call during the pause (a tenth of the remaining 60 s)');
    clock.advance(5_999);
    await broker.getToken('alice');
    await settle();
    assert.equal(fake.count(OP), 3, 'the refresh is tried again after the pause');
    assert.notEqual((await broker.getToken('alice')).token, first.token);
  });

  void it('makes callers wait for the new token once the old one is past exp − grace', async () => {
    const { broker, fake, clock } = brokerFixture();
    const first = await broker.getToken('alice');
    clock.advance(700_000);
    const release = fake.hold(OP);
    const p = broker.getToken('alice');
    assert.equal(await stateOf(p), 'pending');
    release();
    assert.notEqual((await p).token, first.token);
  });

  void it('times an unreadable token from when the request was sent, not received', async () => {
    const { broker, fake, clock } = brokerFixture({ refreshAheadSeconds: 0 });
    fake.handlers[OP] = () => ({ IdentityId: 'us-east-1:00000000-0000-0000-0000-00000000000a', Token: 'opaque' });
    const sent = clock.now();
    const release = fake.hold(OP);
    const p = broker.getToken('alice');
    await settle();
    clock.advance(10_000);
    release();
    const t = await p;
    assert.equal(t.expiresAt, sent + 900_000);
    clock.set(sent + 600_000 - 1);
    await broker.getToken('alice');
    assert.equal(fake.count(OP), 1);
    clock.set(sent + 600_000);
    await broker.getToken('alice');
    assert.equal(fake.count(OP), 2);
  });

  void it('keeps separate entries for users whose principal tags differ', async () => {
    const tags = new Map<string, Record<string, string>>([['alice', { team: 'red' }]]);
    const { broker, fake } = brokerFixture({ principalTags: (u) => tags.get(u) });
    await broker.getToken('alice');
    tags.set('alice', { team: 'blue' });
    await broker.getToken('alice');
    tags.set('alice', { team: 'red' });
    await broker.getToken('alice');
    assert.equal(fake.count(OP), 2);
    assert.deepEqual(
      fake.inputs(OP).map((i) => i.PrincipalTags),
      [{ team: 'red' }, { team: 'blue' }],
    );
  });

  void it('cannot confuse users whose ids contain separators, quotes, unicode or are very long', async () => {
    const { broker, fake } = brokerFixture();
    const ids = [
      'a',
      'a|b',
      'a","b',
      '["token","a"]',
      'a\u0000b',
      'a:b',
      'ü',
      'u\u0308',
      '😀',
      'x'.repeat(1023) + 'y',
      'x'.repeat(1023) + 'z',
      ' a',
      'a ',
    ];
    const first = await Promise.all(ids.map((id) => broker.getToken(id)));
    assert.equal(new Set(first.map((t) => t.identityId)).size, ids.length);
    assert.equal(fake.count(OP), ids.length);
    for (const [i, id] of ids.entries()) {
      assert.equal(first[i]!.identityId, fake.users.get(id));
    }
    const second = await Promise.all(ids.map((id) => broker.getToken(id)));
    assert.deepEqual(
      second.map((t) => t.token),
      first.map((t) => t.token),
    );
    assert.equal(fake.count(OP), ids.length);
  });

  void it('holds at most cache.max entries, evicting the least recently used', async () => {
    const { broker } = brokerFixture({ cache: { max: 5 } });
    for (let i = 0; i < 20; i += 1) await broker.getToken(`user-${i}`);
    const s = broker.stats().tokens;
    assert.equal(s.size, 5);
    assert.equal(s.evictions, 15);
  });

  void it('lets one caller give up on its signal while the shared call goes on for others', async () => {
    const { broker, fake } = brokerFixture();
    const release = fake.hold(OP);
    const ac = new AbortController();
    const mine = rejectionOf(broker.getToken('alice', { signal: ac.signal }));
    const other = broker.getToken('alice');
    await settle();
    ac.abort();
    const err = await mine;
    assert.ok(err instanceof Error && err.name === 'AbortError');
    release();
    assert.ok((await other).token.length > 0);
    assert.equal(fake.count(OP), 1);
  });

  void it('does not cache a load that was in flight when the user was forgotten', async () => {
    const { broker, fake } = brokerFixture();
    const release = fake.hold(OP);
    const p = broker.getToken('alice');
    await settle();
    broker.forgetUser('alice');
    await settle();
    release();
    const t = await p;
    assert.equal(fake.count(OP), 2, 'the waiter read again after the drop');
    assert.equal((await broker.getToken('alice')).token, t.token);
    assert.equal(fake.count(OP), 2);
  });

  void it('starts refreshing short-lived tokens no earlier than half their servable life', async () => {
    const { broker, fake, clock } = brokerFixture({
      tokenDurationSeconds: 100,
      skewGraceSeconds: 10,
      refreshAheadSeconds: 60,
    });
    await broker.getToken('alice'); // servable 90 s; refresh-ahead would say 30 s, the floor says 45 s
    clock.advance(45_000);
    await broker.getToken('alice');
    await settle();
    assert.equal(fake.count(OP), 1);
    clock.advance(1);
    await broker.getToken('alice');
    await settle();
    assert.equal(fake.count(OP), 2);
  });

  void it('refuses an empty or over-long user id without calling Cognito', async () => {
    const { broker, fake } = brokerFixture();
    for (const bad of ['', 'x'.repeat(1025), 42]) {
      const err = await rejectionOf(broker.getToken(bad as string));
      assert.ok(isBrokerError(err) && err.code === 'ERR_BAD_REQUEST');
    }
    assert.equal(fake.calls.length, 0);
  });
});
