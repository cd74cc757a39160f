import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../../../src/index.js';
import { LOGINS_KEY, sdkError } from '../../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf, settle } from '../../../helpers/broker-fixture.js';

const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

void describe('broker credentials', () => {
  void it('exchanges the user’s token for credentials with the Cognito logins key', async () => {
    const { broker, fake } = brokerFixture();
    const c = await broker.getCredentials('alice');
    const token = await broker.getToken('alice');
    assert.deepEqual(fake.inputs(CREDS), [{ IdentityId: token.identityId, Logins: { [LOGINS_KEY]: token.token } }]);
    assert.equal(c.identityId, token.identityId);
    assert.match(c.accessKeyId, /^ASIA/);
    assert.equal(c.expiration, fake.clock.now() + 3_600_000);
  });

  void it('loads new credentials when the user’s principal tags change, with a token carrying the new tags', async () => {
    let tier = 'admin';
    const { broker, fake } = brokerFixture({ principalTags: () => ({ tier }) });
    const first = await broker.getCredentials('alice');
    assert.equal((await broker.getCredentials('alice')).accessKeyId, first.accessKeyId, 'same tags: cached');
    tier = 'basic';
    const second = await broker.getCredentials('alice');
    assert.notEqual(second.accessKeyId, first.accessKeyId, 'credentials minted under the old tags are not served');
    assert.equal(fake.count(TOKEN), 2);
    assert.equal(fake.count(CREDS), 2);
    assert.deepEqual(
      fake.inputs(TOKEN).map((i) => i.PrincipalTags),
      [{ tier: 'admin' }, { tier: 'basic' }],
    );
    const token = await broker.getToken('alice');
    assert.deepEqual(fake.inputs(CREDS)[1]!.Logins, { [LOGINS_KEY]: token.token }, 'the new-tag token is exchanged');
    tier = 'admin';
    assert.equal(
      (await broker.getCredentials('alice')).accessKeyId,
      first.accessKeyId,
      'old-tag entry still valid for old tags',
    );
  });

  void it('passes customRoleArn to GetCredentialsForIdentity', async () => {
    const role = 'arn:aws:iam::123456789012:role/Reader';
    const { broker, fake } = brokerFixture({ customRoleArn: role });
    await broker.getCredentials('alice');
    assert.equal(fake.inputs(CREDS)[0]!.CustomRoleArn, role);
  });

  void it('serves 1,000 concurrent credential requests with one call per operation', async () => {
    const { broker, fake } = brokerFixture();
    const release = fake.hold(TOKEN);
    const all = Array.from({ length: 1000 }, () => broker.getCredentials('alice'));
    await settle();
    release();
    const creds = await Promise.all(all);
    assert.equal(new Set(creds.map((c) => c.accessKeyId)).size, 1);
    assert.equal(fake.count(TOKEN), 1);
    assert.equal(fake.count(CREDS), 1);
  });

  void it('serves 40 concurrent first requests of 40 users with cache.max 10, one token call each', async () => {
    const { broker, fake } = brokerFixture({ cache: { max: 10 } });
    const release = fake.hold(TOKEN);
    const all = Promise.allSettled(Array.from({ length: 40 }, (_, i) => broker.getCredentials(`u${i}`)));
    await settle();
    release();
    const results = await all;
    const failed = results.flatMap((r) =>
      r.status === 'rejected' ? [String((r.reason as { code?: unknown }).code)] : [],
    );
    assert.deepEqual(failed, [], 'no first load is lost to eviction');
    assert.equal(fake.count(TOKEN), 40);
    assert.equal(fake.count(CREDS), 40);
    const stats = broker.stats();
    assert.ok(stats.tokens.size <= 10 && stats.credentials.size <= 10, 'the cache bound holds');
  });

  void it('reuses credentials until Expiration − grace and not a millisecond later', async () => {
    const { broker, fake, clock } = brokerFixture({ refreshAheadSeconds: 0 });
    const first = await broker.getCredentials('alice');
    clock.advance(3_300_000 - 1);
    assert.equal((await broker.getCredentials('alice')).accessKeyId, first.accessKeyId);
    assert.equal(fake.count(CREDS), 1);
    assert.equal(fake.count(TOKEN), 1, 'cached credentials are served without a fresh token');
    clock.advance(1);
    const second = await broker.getCredentials('alice');
    assert.notEqual(second.accessKeyId, first.accessKeyId);
    assert.equal(fake.count(CREDS), 2);
    assert.equal(fake.count(TOKEN), 2, 'a fresh token only when credentials are loaded');
  });

  void it('refreshes credentials ahead of expiry without making callers wait', async () => {
    const { broker, fake, clock } = brokerFixture();
    const first = await broker.getCredentials('alice');
    clock.advance(3_240_001);
    const release = fake.hold(CREDS);
    const during = await Promise.all(Array.from({ length: 20 }, () => broker.getCredentials('alice')));
    assert.ok(during.every((c) => c.accessKeyId === first.accessKeyId));
    await settle(); // the refresh first gets a fresh token (the first one expired long ago)
    assert.equal(fake.count(CREDS), 2);
    assert.equal(fake.count(TOKEN), 2);
    release();
    await settle();
    assert.notEqual((await broker.getCredentials('alice')).accessKeyId, first.accessKeyId);
    assert.equal(fake.count(CREDS), 2);
    assert.equal(broker.stats().credentials.refreshes, 1);
  });

  void it('re-resolves an identity disabled by a merge elsewhere, once', async () => {
    const { broker, fake, logs } = brokerFixture();
    const old = await broker.getToken('alice');
    await broker.getToken('bob');
    // Another broker instance merged alice into bob: alice's old identity is now disabled.
    const bobId = fake.users.get('bob')!;
    fake.users.set('alice', bobId);
    fake.disabled.add(old.identityId);
    const c = await broker.getCredentials('alice');
    assert.equal(c.identityId, bobId);
    assert.equal(fake.count(CREDS), 2);
    assert.equal(fake.count(TOKEN), 3);
    assert.equal((await broker.getToken('alice')).identityId, bobId);
    assert.equal(logs.withMsg('identity re-resolved').length, 1);
  });

  void it('gives up after one re-resolution when the identity stays refused', async () => {
    const { broker, fake } = brokerFixture();
    fake.handlers[CREDS] = () => {
      throw sdkError('NotAuthorizedException', "Access to Identity 'x' is forbidden.");
    };
    const err = await rejectionOf(broker.getCredentials('alice'));
    assert.ok(isBrokerError(err) && err.code === 'ERR_IDENTITY_DISABLED' && err.status === 409);
    assert.equal(fake.count(CREDS), 2);
  });

  void it('gives guests credentials without logins, and reuses a known guest id', async () => {
    const { broker, fake } = brokerFixture();
    const g = await broker.getGuestCredentials();
    assert.equal(fake.count('GetId'), 1);
    assert.deepEqual(fake.inputs(CREDS), [{ IdentityId: g.identityId }]);
    const again = await broker.getGuestCredentials(g.identityId);
    assert.equal(again.accessKeyId, g.accessKeyId);
    assert.equal(fake.count(CREDS), 1);
    const err = await rejectionOf(broker.getGuestCredentials('not an id'));
    assert.ok(isBrokerError(err) && err.code === 'ERR_BAD_REQUEST');
  });

  void it('refuses guest credentials for an identity that is not a guest (403)', async () => {
    const { broker } = brokerFixture();
    const t = await broker.getToken('alice');
    const err = await rejectionOf(broker.getGuestCredentials(t.identityId));
    assert.ok(isBrokerError(err) && err.code === 'ERR_FORBIDDEN', String(err));
  });

  void it('is an AWS SDK credential provider built on the same cache', async () => {
    const { broker, fake } = brokerFixture();
    const provider = broker.credentialProvider('alice');
    const a = await provider();
    const b = await provider();
    const c = await broker.getCredentials('alice');
    assert.equal(a.accessKeyId, c.accessKeyId);
    assert.equal(b.secretAccessKey, c.secretAccessKey);
    assert.equal(a.sessionToken, c.sessionToken);
    assert.ok(a.expiration instanceof Date);
    assert.equal(a.expiration.getTime(), c.expiration);
    assert.equal(fake.count(CREDS), 1);
  });

  void it('forgetUser drops a user’s entries (account deletion) and the next read loads again', async () => {
    const { broker, fake } = brokerFixture();
    await broker.getCredentials('alice');
    await broker.getCredentials('bob');
    broker.forgetUser('alice');
    assert.equal(fake.calls.length, 4, 'forgetUser never calls Cognito');
    await broker.getCredentials('alice');
    await broker.getCredentials('bob');
    assert.equal(fake.count(TOKEN), 3);
    assert.equal(fake.count(CREDS), 3);
  });
});
