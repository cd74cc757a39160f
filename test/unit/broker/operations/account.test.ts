import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../../../src/index.js';
import { DEV_PROVIDER, LOGINS_KEY, POOL_ID, sdkError } from '../../../helpers/broker-fake-client.js';
import { brokerFixture, rejectionOf } from '../../../helpers/broker-fixture.js';

const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';
const FB = 'graph.facebook.com';

void describe('broker account operations', () => {
  void it('links a provider login to the user’s identity and drops the user’s entries', async () => {
    const { broker, fake } = brokerFixture();
    const t = await broker.getToken('alice');
    await broker.getCredentials('alice');
    const d = await broker.linkLogin('alice', FB, 'fb-token');
    assert.deepEqual(fake.inputs(TOKEN)[1], {
      IdentityPoolId: POOL_ID,
      IdentityId: t.identityId,
      Logins: { [DEV_PROVIDER]: 'alice', [FB]: 'fb-token' },
      TokenDuration: 900,
    });
    assert.equal(d.identityId, t.identityId);
    assert.ok(d.logins.includes(FB));
    const after = await broker.getToken('alice');
    assert.notEqual(after.token, t.token, 'the old token was dropped');
    assert.equal(fake.count(TOKEN), 2, 'the token the link returned is reused');
    await broker.getCredentials('alice');
    assert.equal(fake.count(CREDS), 2, 'the credentials were dropped');
  });

  void it('reports link conflicts, the login limit and a bad provider token with their codes', async () => {
    const { broker, fake } = brokerFixture();
    const expect = [
      ['ResourceConflictException', 'ERR_CONFLICT', 409],
      ['DeveloperUserAlreadyRegisteredException', 'ERR_CONFLICT', 409],
      ['LimitExceededException', 'ERR_LIMIT_EXCEEDED', 409],
      ['NotAuthorizedException', 'ERR_PROVIDER_TOKEN_REJECTED', 422],
    ] as const;
    await broker.getToken('alice');
    for (const [name, code, status] of expect) {
      fake.failNext(TOKEN, sdkError(name, name === 'NotAuthorizedException' ? 'Invalid login token.' : name));
      const err = await rejectionOf(broker.linkLogin('alice', FB, 'fb-token'));
      assert.ok(isBrokerError(err), name);
      assert.equal(err.code, code, name);
      assert.equal(err.status, status, name);
    }
  });

  void it('refuses to link or unlink the developer provider or Cognito’s own key', async () => {
    const { broker, fake } = brokerFixture();
    for (const provider of [DEV_PROVIDER, LOGINS_KEY, '', 'bad provider']) {
      const err = await rejectionOf(broker.linkLogin('alice', provider, 'x'));
      assert.ok(isBrokerError(err) && err.code === 'ERR_BAD_REQUEST', provider);
      const err2 = await rejectionOf(broker.unlinkLogin('alice', provider));
      assert.ok(isBrokerError(err2) && err2.code === 'ERR_BAD_REQUEST', provider);
    }
    const err = await rejectionOf(broker.linkLogin('alice', FB, ''));
    assert.ok(isBrokerError(err) && err.code === 'ERR_BAD_REQUEST');
    assert.equal(fake.calls.length, 0);
  });

  void it('re-resolves a disabled identity once when linking', async () => {
    const { broker, fake } = brokerFixture();
    const old = await broker.getToken('alice');
    await broker.getToken('bob');
    fake.users.set('alice', fake.users.get('bob')!);
    fake.disabled.add(old.identityId);
    const d = await broker.linkLogin('alice', FB, 'fb-token');
    assert.equal(d.identityId, fake.users.get('bob'));
  });

  void it('unlinks a provider with the user’s Cognito token as proof', async () => {
    const { broker, fake } = brokerFixture();
    await broker.linkLogin('alice', FB, 'fb-token');
    const t = await broker.getToken('alice');
    const d = await broker.unlinkLogin('alice', FB);
    assert.deepEqual(fake.inputs('UnlinkIdentity'), [
      { IdentityId: t.identityId, Logins: { [LOGINS_KEY]: t.token }, LoginsToRemove: [FB] },
    ]);
    assert.ok(!d.logins.includes(FB));
    const before = fake.count(TOKEN);
    await broker.getToken('alice');
    assert.equal(fake.count(TOKEN), before + 1, 'the token was dropped');
  });

  void it('unlinks the developer user from its identity, and does nothing for an unknown user', async () => {
    const { broker, fake } = brokerFixture();
    const t = await broker.getToken('alice');
    await broker.unlinkDeveloperUser('alice');
    assert.deepEqual(fake.inputs('UnlinkDeveloperIdentity'), [
      {
        IdentityId: t.identityId,
        IdentityPoolId: POOL_ID,
        DeveloperProviderName: DEV_PROVIDER,
        DeveloperUserIdentifier: 'alice',
      },
    ]);
    await broker.unlinkDeveloperUser('nobody');
    assert.equal(fake.count('UnlinkDeveloperIdentity'), 1);
    const before = fake.count(TOKEN);
    await broker.getToken('alice');
    assert.equal(fake.count(TOKEN), before + 1);
  });

  void it('merges a source user into the user and drops both users’ entries', async () => {
    const { broker, fake } = brokerFixture();
    const a = await broker.getCredentials('alice');
    const b = await broker.getCredentials('bob');
    const out = await broker.mergeUsers('alice', 'bob');
    assert.equal(out.identityId, a.identityId);
    assert.deepEqual(fake.inputs('MergeDeveloperIdentities'), [
      {
        SourceUserIdentifier: 'bob',
        DestinationUserIdentifier: 'alice',
        DeveloperProviderName: DEV_PROVIDER,
        IdentityPoolId: POOL_ID,
      },
    ]);
    const bobNow = await broker.getCredentials('bob');
    assert.equal(bobNow.identityId, a.identityId);
    assert.notEqual(bobNow.identityId, b.identityId);
    const err = await rejectionOf(broker.mergeUsers('alice', 'alice'));
    assert.ok(isBrokerError(err) && err.code === 'ERR_BAD_REQUEST');
  });

  void it('looks up a user’s identity from the cache first, else from Cognito, and null when none', async () => {
    const { broker, fake } = brokerFixture();
    const t = await broker.getToken('alice');
    assert.equal(await broker.lookupIdentity('alice'), t.identityId);
    assert.equal(fake.count('LookupDeveloperIdentity'), 0);
    fake.users.set('carol', 'us-east-1:00000000-0000-0000-0000-0000000000cc');
    assert.equal(await broker.lookupIdentity('carol'), 'us-east-1:00000000-0000-0000-0000-0000000000cc');
    assert.equal(await broker.lookupIdentity('nobody'), null);
    assert.equal(fake.count('LookupDeveloperIdentity'), 2);
  });

  void it('pages through the users of an identity', async () => {
    const { broker } = brokerFixture();
    for (const u of ['u1', 'u2', 'u3']) await broker.getToken(u);
    await broker.mergeUsers('u1', 'u2');
    await broker.mergeUsers('u1', 'u3');
    const id = await broker.lookupIdentity('u1');
    assert.ok(id !== null);
    const p1 = await broker.lookupUsers(id, { maxResults: 2 });
    assert.deepEqual(p1.userIds, ['u1', 'u2']);
    assert.ok(p1.nextToken !== undefined);
    const p2 = await broker.lookupUsers(id, { maxResults: 2, nextToken: p1.nextToken });
    assert.deepEqual(p2, { userIds: ['u3'] });
    const err = await rejectionOf(broker.lookupUsers(id, { maxResults: 61 }));
    assert.ok(isBrokerError(err) && err.code === 'ERR_BAD_REQUEST');
  });

  void it('describes the user’s identity with provider names only', async () => {
    const { broker } = brokerFixture();
    await broker.linkLogin('alice', FB, 'fb-token');
    const d = await broker.describeIdentity('alice');
    assert.deepEqual([...d.logins], [FB]);
    assert.equal(d.creationDate, 0);
  });

  void it('upgrades a guest at login so the user keeps the guest’s identity id', async () => {
    const { broker, fake } = brokerFixture();
    const g = await broker.getGuestCredentials();
    const t = await broker.upgradeGuest('alice', g.identityId);
    assert.equal(t.identityId, g.identityId);
    assert.equal(fake.inputs(TOKEN)[0]!.IdentityId, g.identityId);
    const calls = fake.calls.length;
    assert.equal((await broker.getToken('alice')).token, t.token, 'the upgraded token is cached');
    const c = await broker.getCredentials('alice');
    assert.equal(c.identityId, g.identityId);
    assert.notEqual(c.accessKeyId, g.accessKeyId);
    assert.equal(fake.calls.length, calls + 1, 'one GetCredentialsForIdentity, nothing else');
  });

  void it('leaves the guest alone when the user already has an identity', async () => {
    const { broker, fake } = brokerFixture();
    const own = await broker.getToken('alice');
    const g = await broker.getGuestCredentials();
    const t = await broker.upgradeGuest('alice', g.identityId);
    assert.equal(t.identityId, own.identityId);
    assert.equal(fake.count(TOKEN), 1);
    assert.ok(fake.guests.has(g.identityId));
  });

  void it('refuses to upgrade an identity that is not a guest', async () => {
    const { broker, fake } = brokerFixture();
    const bob = await broker.getToken('bob');
    const err = await rejectionOf(broker.upgradeGuest('mallory', bob.identityId));
    assert.ok(isBrokerError(err) && err.code === 'ERR_FORBIDDEN');
    assert.equal(fake.users.get('mallory'), undefined);
  });
});
