import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceError } from '../../../../src/emulator/service-error.js';
import { register, serviceWithPool } from './fixture.js';

void describe('MergeDeveloperIdentities (service/merge.ts)', () => {
  void it('moves the source user onto the destination identity and disables the source', async () => {
    const { svc, poolId, clock } = await serviceWithPool();
    const src = register(svc, poolId, 'alice-old');
    const dst = register(svc, poolId, 'alice');
    clock.ms += 5000;
    const out = svc.handlers.MergeDeveloperIdentities({
      IdentityPoolId: poolId,
      DeveloperProviderName: 'login.app',
      SourceUserIdentifier: 'alice-old',
      DestinationUserIdentifier: 'alice',
    });
    assert.deepEqual(out, { IdentityId: dst });
    const users = svc.handlers.LookupDeveloperIdentity({ IdentityPoolId: poolId, IdentityId: dst });
    assert.deepEqual(users.DeveloperUserIdentifierList, ['alice', 'alice-old']);
    assert.throws(
      () => svc.handlers.GetCredentialsForIdentity({ IdentityId: src }),
      (e: unknown) => e instanceof ServiceError && e.type === 'NotAuthorizedException' && e.message.includes(src),
    );
    assert.equal(svc.handlers.DescribeIdentity({ IdentityId: dst }).LastModifiedDate, clock.ms / 1000);
  });

  void it('merging a user with itself changes nothing and reports no change of state', async () => {
    let changes = 0;
    const { svc, poolId } = await serviceWithPool({
      onChange: () => {
        changes += 1;
      },
    });
    const id = register(svc, poolId, 'bob');
    const before = changes;
    const out = svc.handlers.MergeDeveloperIdentities({
      IdentityPoolId: poolId,
      DeveloperProviderName: 'login.app',
      SourceUserIdentifier: 'bob',
      DestinationUserIdentifier: 'bob',
    });
    assert.deepEqual(out, { IdentityId: id });
    assert.equal(changes, before);
  });

  void it('refuses another developer provider and unknown users with the modelled errors', async () => {
    const { svc, poolId } = await serviceWithPool();
    register(svc, poolId, 'carol');
    const merge = (provider: string, src: string): unknown =>
      svc.handlers.MergeDeveloperIdentities({
        IdentityPoolId: poolId,
        DeveloperProviderName: provider,
        SourceUserIdentifier: src,
        DestinationUserIdentifier: 'carol',
      });
    assert.throws(() => merge('other.app', 'carol'), { type: 'NotAuthorizedException' });
    assert.throws(() => merge('login.app', 'nobody'), { type: 'ResourceNotFoundException' });
  });
});
