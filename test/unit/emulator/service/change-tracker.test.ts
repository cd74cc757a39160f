import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeTracker } from '../../../../src/emulator/service/change-tracker.js';
import { RegionalServices, type RegionsDelta } from '../../../../src/emulator/service/regions.js';
import { CredentialIssuer } from '../../../../src/emulator/session-token.js';
import { mintProviderToken } from '../../../../src/emulator/tokens.js';

const NOW = 1_700_000_000_000;
const now = (): number => NOW;
const FB = 'graph.facebook.com';
const GOOGLE = 'accounts.google.com';
const DEV = 'login.app';

function json<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Everything a region holds that a restart must give back: the snapshot, the indexes, the listing order. */
function view(regions: RegionalServices): unknown {
  return {
    snapshot: json(regions.snapshot()),
    indexes: regions.all().map((svc) =>
      [...svc.state.pools.values()].map((p) => ({
        identities: [...p.identities.keys()],
        dev: [...p.devIndex].sort(),
        logins: [...p.loginIndex].sort(),
      })),
    ),
  };
}

void test('the records each call names, applied in order to the state before them, give the state after them', async () => {
  const tracker = new ChangeTracker();
  const credentials = new CredentialIssuer();
  const live = await RegionalServices.create(
    {
      now,
      credentials,
      onChange: (c) => {
        tracker.note(c);
      },
    },
    'us-east-1',
  );
  const replica = RegionalServices.restore({ now, credentials, onChange: () => undefined }, json(live.snapshot()));
  let commits = 0;
  /** One commit: what changed since the last, through JSON as the log keeps it. */
  const commit = (): void => {
    const delta = tracker.take(live);
    if (delta !== undefined) {
      replica.apply(json<RegionsDelta>(delta));
      commits++;
    }
    assert.deepEqual(view(replica), view(live));
  };

  const us = live.get('us-east-1');
  assert.ok(us);
  const h = us.handlers;
  const pool = h.CreateIdentityPool({
    IdentityPoolName: 'app',
    AllowUnauthenticatedIdentities: true,
    DeveloperProviderName: DEV,
    SupportedLoginProviders: { [FB]: 'fb-app', [GOOGLE]: 'g-app' },
    IdentityPoolTags: { team: 'a' },
  }).IdentityPoolId;
  const arn = us.poolArn(pool);
  const fb = (subject: string): string => mintProviderToken(live.providerSigner, FB, subject, 'fb-app', 3600, NOW);
  const google = (subject: string): string =>
    mintProviderToken(live.providerSigner, GOOGLE, subject, 'g-app', 3600, NOW);
  commit();

  // Pool configuration, several calls in one commit.
  h.SetIdentityPoolRoles({ IdentityPoolId: pool, Roles: { authenticated: 'arn:aws:iam::123456789012:role/a' } });
  h.TagResource({ ResourceArn: arn, Tags: { env: 'dev', gone: 'x' } });
  h.UntagResource({ ResourceArn: arn, TagKeys: ['gone'] });
  h.SetPrincipalTagAttributeMap({ IdentityPoolId: pool, IdentityProviderName: DEV, UseDefaults: true });
  commit();
  h.UpdateIdentityPool({
    IdentityPoolId: pool,
    IdentityPoolName: 'app2',
    AllowUnauthenticatedIdentities: true,
    DeveloperProviderName: DEV,
    SupportedLoginProviders: { [FB]: 'fb-app', [GOOGLE]: 'g-app' },
  });
  commit();

  // Developer users, and a public login linked onto one of them.
  const alice =
    h.GetOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool, Logins: { [DEV]: 'alice' } }).IdentityId ?? '';
  const bob = h.GetOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool, Logins: { [DEV]: 'bob' } }).IdentityId ?? '';
  h.GetOpenIdTokenForDeveloperIdentity({
    IdentityPoolId: pool,
    IdentityId: alice,
    Logins: { [DEV]: 'alice', [FB]: fb('alice-fb') },
  });
  commit();
  h.GetOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool, Logins: { [DEV]: 'bob', [GOOGLE]: google('bob-g') } });
  commit();

  // Guests and public logins.
  const guest = h.GetId({ IdentityPoolId: pool }).IdentityId ?? '';
  const carol = h.GetId({ IdentityPoolId: pool, Logins: { [FB]: fb('carol') } }).IdentityId ?? '';
  commit();
  const upgraded = h.GetId({ IdentityPoolId: pool }).IdentityId ?? '';
  h.GetOpenIdToken({ IdentityId: upgraded, Logins: { [FB]: fb('dave') } });
  commit();

  // Merge moves bob's users and login onto alice's identity, and disables bob's.
  h.MergeDeveloperIdentities({
    IdentityPoolId: pool,
    DeveloperProviderName: DEV,
    SourceUserIdentifier: 'bob',
    DestinationUserIdentifier: 'alice',
  });
  assert.equal(us.state.identities.get(bob)?.disabled, true);
  commit();
  const replicaPool = replica.get('us-east-1')?.state.pools.get(pool);
  assert.ok(replicaPool);
  assert.equal(replicaPool.devIndex.get('bob'), alice);
  assert.equal(replicaPool.loginIndex.get(`${GOOGLE}\u0000bob-g`), alice);

  // Unlinks, and a deletion, in one commit.
  h.UnlinkDeveloperIdentity({
    IdentityPoolId: pool,
    IdentityId: alice,
    DeveloperProviderName: DEV,
    DeveloperUserIdentifier: 'alice',
  });
  h.UnlinkIdentity({ IdentityId: carol, Logins: { [FB]: fb('carol') }, LoginsToRemove: [FB] });
  h.DeleteIdentities({ IdentityIdsToDelete: [guest] });
  commit();

  // A new region, its pool and identity in the same commit as its keys.
  const eu = await live.ensure('eu-west-1');
  const euPool = eu.handlers.CreateIdentityPool({
    IdentityPoolName: 'eu',
    AllowUnauthenticatedIdentities: true,
  }).IdentityPoolId;
  eu.handlers.GetId({ IdentityPoolId: euPool });
  commit();
  assert.equal(replica.get('eu-west-1')?.state.signer.currentKid, 'eu-west-1-1');

  // A pool made and deleted with its identities; another deleted in a later commit.
  const brief = h.CreateIdentityPool({ IdentityPoolName: 'brief', AllowUnauthenticatedIdentities: true });
  h.GetId({ IdentityPoolId: brief.IdentityPoolId });
  h.DeleteIdentityPool({ IdentityPoolId: brief.IdentityPoolId });
  const later = h.CreateIdentityPool({ IdentityPoolName: 'later', AllowUnauthenticatedIdentities: true });
  h.GetId({ IdentityPoolId: later.IdentityPoolId });
  commit();
  h.DeleteIdentityPool({ IdentityPoolId: later.IdentityPoolId });
  commit();

  // Reads change nothing: no commit.
  const before = commits;
  h.DescribeIdentity({ IdentityId: alice });
  h.ListIdentities({ IdentityPoolId: pool, MaxResults: 60 });
  h.LookupDeveloperIdentity({ IdentityPoolId: pool, DeveloperUserIdentifier: 'bob' });
  commit();
  assert.equal(commits, before);
  assert.ok(commits >= 12, String(commits));
});

void test('a logged change that names a region not saved, or is not in the logged form, is refused', async () => {
  const credentials = new CredentialIssuer();
  const regions = await RegionalServices.create({ now, credentials, onChange: () => undefined }, 'us-east-1');
  assert.throws(() => {
    regions.apply({ regions: { 'eu-west-1': { seq: 1 } } });
  }, /names region "eu-west-1", which is not saved/);
  assert.throws(() => {
    regions.apply({ regions: { 'us-east-1': { seq: 1, pools: 'no' } } } as unknown as RegionsDelta);
  }, /not in the expected form/);
  assert.throws(() => {
    regions.apply([] as unknown as RegionsDelta);
  }, /not in the expected form/);
});
