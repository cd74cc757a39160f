import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeCursor } from '../../../src/fleet/change-cursor.js';

const log = (...seqs: number[]) => seqs.map((seq) => ({ seq, record: `c${seq}` }));

void describe('ChangeCursor', () => {
  void it('takes changes from the log only: a wake-up never moves it', () => {
    const c = new ChangeCursor();
    assert.equal(c.isNews('e1', 1), true, 'before the first read, every wake-up asks for one');
    assert.deepEqual(c.caughtUp('e1', 3, log(3, 2, 1)), { dropAll: false, apply: [] });
    assert.equal(c.isNews('e1', 3), false, 'known already');
    assert.equal(c.isNews('e1', 2), false);
    assert.equal(c.isNews('e1', 4), true);
    assert.equal(c.isNews('e2', 1), true, 'another epoch');
    assert.equal(c.seq, 3, 'unmoved by wake-ups');
  });

  void it('applies the changes the log holds beyond its own, oldest first', () => {
    const c = new ChangeCursor();
    c.caughtUp('e1', 2, log(2, 1));
    assert.deepEqual(c.caughtUp('e1', 5, log(5, 4, 3, 2)), { dropAll: false, apply: ['c3', 'c4', 'c5'] });
    assert.equal(c.seq, 5);
  });

  void it('applies the first changes ever published when the log was empty', () => {
    const c = new ChangeCursor();
    c.caughtUp('', 0, []);
    assert.deepEqual(c.caughtUp('e9', 2, log(2, 1)), { dropAll: false, apply: ['c1', 'c2'] });
  });

  void it('drops everything on another epoch, a gap, or a log missing a number', () => {
    const c = new ChangeCursor();
    c.caughtUp('e1', 2, log(2, 1));
    assert.deepEqual(c.caughtUp('e2', 7, log(7)), { dropAll: true, apply: [] });
    assert.deepEqual(c.caughtUp('e2', 900, 'gap'), { dropAll: true, apply: [] });
    assert.deepEqual(c.caughtUp('e2', 903, log(903, 901)), { dropAll: true, apply: [] }, '902 removed');
    assert.deepEqual(c.caughtUp('e2', 905, log(905, 904)), { dropAll: false, apply: ['c904', 'c905'] });
    assert.deepEqual(c.caughtUp('e2', 907, log(907, 906, 906)), { dropAll: true, apply: [] }, 'a number twice');
    assert.deepEqual(
      c.caughtUp('e2', 909, log(909, 907)),
      { dropAll: true, apply: [] },
      'a number stands in for another',
    );
  });

  void it('drops everything at the first read only when it served alone after a failed read', () => {
    const quiet = new ChangeCursor();
    quiet.readFailed();
    assert.equal(quiet.caughtUp('e1', 4, log(4)).dropAll, false, 'failed, but served nothing');
    const served = new ChangeCursor();
    served.servedAlone();
    assert.equal(served.caughtUp('e1', 4, log(4)).dropAll, false, 'served, but no read failed');
    const both = new ChangeCursor();
    both.readFailed();
    both.servedAlone();
    assert.equal(both.caughtUp('e1', 4, log(4)).dropAll, true);
    both.readFailed();
    both.servedAlone();
    assert.equal(both.caughtUp('e1', 4, log(4)).dropAll, false, 'only before the first read');
  });
});
