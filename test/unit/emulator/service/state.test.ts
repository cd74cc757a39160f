import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { register, serviceWithPool } from './fixture.js';

void describe('ServiceState (service/state.ts)', () => {
  void it('a snapshot restores pools, identities and their indexes', async () => {
    const first = await serviceWithPool();
    const id = register(first.svc, first.poolId, 'dave');
    const snapshot = JSON.parse(JSON.stringify(first.svc.snapshot())) as ReturnType<typeof first.svc.snapshot>;
    const { svc } = await serviceWithPool({ snapshot });
    // The restored developer index finds dave's identity again.
    assert.equal(register(svc, first.poolId, 'dave'), id);
    assert.deepEqual(
      svc.listPools().map((p) => p.name),
      ['app', 'app'],
    );
    assert.equal(snapshot.identities.length, 1);
    assert.equal('devIndex' in (snapshot.pools[0] ?? {}), false);
  });

  void it('lists pools and identities in creation order across pages', async () => {
    const { svc, poolId } = await serviceWithPool();
    const ids = ['u1', 'u2', 'u3'].map((u) => register(svc, poolId, u));
    const page1 = svc.handlers.ListIdentities({ IdentityPoolId: poolId, MaxResults: 2 });
    assert.deepEqual(
      page1.Identities?.map((i) => i.IdentityId),
      ids.slice(0, 2),
    );
    const page2 = svc.handlers.ListIdentities({
      IdentityPoolId: poolId,
      MaxResults: 2,
      ...(page1.NextToken === undefined ? {} : { NextToken: page1.NextToken }),
    });
    assert.deepEqual(
      page2.Identities?.map((i) => i.IdentityId),
      ids.slice(2),
    );
    assert.equal(page2.NextToken, undefined);
    assert.throws(() => svc.handlers.ListIdentities({ IdentityPoolId: poolId, MaxResults: 2, NextToken: 'bad' }), {
      type: 'InvalidParameterException',
    });
  });
});
