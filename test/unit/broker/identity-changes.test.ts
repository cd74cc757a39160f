import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../../src/errors.js';
import { IdentityChanges } from '../../../src/broker/identity-changes.js';

void describe('IdentityChanges', () => {
  void it('tells a change after a load began from one before it, for that identity only', () => {
    const c = new IdentityChanges();
    c.changed(['id-1']);
    const since = c.seq;
    assert.equal(c.changedSince('id-1', since), false, 'changed before the load began');
    c.changed(['id-2']);
    c.changed(['id-2']);
    assert.equal(c.changedSince('id-2', since), true);
    assert.equal(c.changedSince('id-1', since), false, 'a repeated change of another identity is not this one');
    c.everything();
    assert.equal(c.changedSince('id-1', since), true, 'after everything changed, nothing before is current');
  });

  void it('loads again while the answer names an identity that changed during the load, then refuses', async () => {
    const c = new IdentityChanges();
    let loads = 0;
    const value = await c.current(() => {
      loads += 1;
      if (loads === 1) c.changed(['id-1']);
      return Promise.resolve({ identityId: 'id-1' });
    });
    assert.deepEqual([value.identityId, loads], ['id-1', 2]);
    await assert.rejects(
      c.current(() => {
        c.changed(['id-1']);
        return Promise.resolve({ identityId: 'id-1' });
      }),
      (err) => isBrokerError(err) && err.code === 'ERR_CONFLICT' && err.retryable,
    );
  });
});
