import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeIndex } from '../../../src/fleet/change-index.js';

void describe('ChangeIndex', () => {
  void it('knows nothing before it starts: no entry is current', () => {
    const x = new ChangeIndex();
    assert.equal(x.current('e1', 5, 'alice', 'id-a'), false);
  });

  void it('an entry is current unless a change after its load names its user or identity', () => {
    const x = new ChangeIndex();
    x.reset('e1', 0);
    x.add('e1', 3, { u: ['alice'], i: [] });
    x.add('e1', 4, { u: [], i: ['id-b'] });
    assert.equal(x.current('e1', 2, 'alice', 'id-a'), false, 'alice changed at 3, after the load at 2');
    assert.equal(x.current('e1', 3, 'alice', 'id-a'), true, 'loaded after the change');
    assert.equal(x.current('e1', 3, 'bob', 'id-b'), false, 'its identity changed at 4');
    assert.equal(x.current('e1', 2, 'bob', 'id-c'), true, 'named by no change');
    assert.equal(x.current('e2', 9, 'bob', 'id-c'), false, 'another epoch');
    assert.equal(x.current('e1', Number.NaN, 'bob', 'id-c'), false, 'an unreadable number');
  });

  void it('a change of every entry, or a record it could not read, makes every older entry stale', () => {
    const x = new ChangeIndex();
    x.reset('e1', 0);
    x.add('e1', 5, undefined);
    assert.equal(x.current('e1', 4, 'bob', 'id-c'), false);
    assert.equal(x.current('e1', 5, 'bob', 'id-c'), true);
    x.add('e1', 6, { u: [], i: [], all: true });
    assert.equal(x.current('e1', 5, 'bob', 'id-c'), false);
  });

  void it('judges nothing loaded before its horizon (changes it cannot know)', () => {
    const x = new ChangeIndex();
    x.reset('e1', 100);
    assert.equal(x.current('e1', 99, 'bob', undefined), false);
    assert.equal(x.current('e1', 100, 'bob', undefined), true);
    x.add('e1', 50, { u: ['bob'], i: [] });
    assert.equal(x.current('e1', 100, 'bob', undefined), true, 'a change below the horizon is ignored');
  });

  void it('stays bounded and forgets nothing: many changes of others leave an untouched entry current', () => {
    const x = new ChangeIndex();
    x.reset('e1', 0);
    for (let seq = 1; seq <= 5000; seq++) x.add('e1', seq, { u: [`u${seq}`], i: [] });
    assert.equal(x.horizon, 0);
    assert.equal(x.current('e1', 5000, 'u4999', undefined), true, 'loaded after every change');
    assert.equal(x.current('e1', 4998, 'u4999', undefined), false, 'changed at 4999, after the load at 4998');
    // Among 5000 other users, most of a thousand untouched ones keep their entries (a shared bucket costs a load).
    const kept = Array.from({ length: 1000 }, (_, n) => x.current('e1', 1, `other-${n}`, undefined)).filter(Boolean);
    assert.ok(kept.length > 600, `${kept.length} kept`);
  });
});
