import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeCursor } from '../../../src/fleet/change-cursor.js';

const log = (...seqs: number[]) => seqs.map((seq) => ({ seq, record: `c${seq}` }));

void describe('ChangeCursor', () => {
  void it('takes a message only when it is the next change of the known epoch', () => {
    const c = new ChangeCursor();
    assert.equal(c.next('e1', 1), false, 'before the first read of the log, every message asks for one');
    assert.deepEqual(c.caughtUp('e1', 3, log(3, 2, 1)), { dropAll: false, apply: [] });
    assert.equal(c.next('e1', 5), false, 'a gap');
    assert.equal(c.next('e1', 3), false, 'a repeat');
    assert.equal(c.next('e2', 4), false, 'another epoch');
    assert.equal(c.next('e1', 4), true);
    assert.equal(c.seq, 4);
  });

  void it('takes the first change ever published when the log was empty', () => {
    const c = new ChangeCursor();
    c.caughtUp('', 0, []);
    assert.equal(c.next('e9', 1), true);
    assert.equal(c.epoch, 'e9');
  });

  void it('applies the changes the log holds beyond its own, oldest first', () => {
    const c = new ChangeCursor();
    c.caughtUp('e1', 2, log(2, 1));
    assert.deepEqual(c.caughtUp('e1', 5, log(5, 4, 3, 2)), { dropAll: false, apply: ['c3', 'c4', 'c5'] });
    assert.equal(c.seq, 5);
  });

  void it('drops everything on another epoch or a gap', () => {
    const c = new ChangeCursor();
    c.caughtUp('e1', 2, log(2, 1));
    assert.deepEqual(c.caughtUp('e2', 7, log(7)), { dropAll: true, apply: [] });
    assert.deepEqual(c.caughtUp('e2', 900, 'gap'), { dropAll: true, apply: [] });
    assert.equal(c.seq, 900);
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
