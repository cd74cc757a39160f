import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeCursor } from '../../../src/fleet/change-cursor.js';

const log = (...seqs: number[]) => seqs.map((seq) => ({ seq, record: `c${seq}` }));
const records = (step: { apply: readonly { record: string }[] }) => step.apply.map((c) => c.record);

void describe('ChangeCursor', () => {
  void it('takes changes from the log only: a wake-up never moves it', () => {
    const c = new ChangeCursor();
    assert.equal(c.isNews('e1', 1), true, 'before the first read, every wake-up asks for one');
    assert.deepEqual(c.caughtUp('e1', 3, log(3, 2, 1)), {
      dropAll: false,
      apply: [],
      restart: { horizon: 0, known: log(1, 2, 3) },
    });
    assert.equal(c.isNews('e1', 3), false, 'known already');
    assert.equal(c.isNews('e1', 2), false);
    assert.equal(c.isNews('e1', 4), true);
    assert.equal(c.isNews('e2', 1), true, 'another epoch');
    assert.equal(c.seq, 3, 'unmoved by wake-ups');
  });

  void it('applies the changes the log holds beyond its own, oldest first', () => {
    const c = new ChangeCursor();
    c.caughtUp('e1', 2, log(2, 1));
    const step = c.caughtUp('e1', 5, log(5, 4, 3));
    assert.deepEqual(records(step), ['c3', 'c4', 'c5']);
    assert.equal(step.dropAll, false);
    assert.equal(step.restart, undefined, 'the index goes on');
    assert.equal(c.seq, 5);
  });

  void it('starts the index over at the first read from the unbroken run the log holds', () => {
    const c = new ChangeCursor();
    const step = c.caughtUp('e1', 2000, log(2000, 1999, 1998));
    assert.deepEqual(step.restart, { horizon: 1997, known: log(1998, 1999, 2000) });
    const empty = new ChangeCursor().caughtUp('e1', 0, []);
    assert.deepEqual(empty.restart, { horizon: 0, known: [] });
  });

  void it('drops everything on another epoch, a gap, or a log missing a number', () => {
    const c = new ChangeCursor();
    c.caughtUp('e1', 2, log(2, 1));
    const other = c.caughtUp('e2', 7, log(7));
    assert.equal(other.dropAll, true);
    assert.deepEqual(other.restart, { horizon: 6, known: log(7) });
    const gap = c.caughtUp('e2', 903, log(903, 901));
    assert.equal(gap.dropAll, true, '902 removed');
    assert.deepEqual(gap.restart, { horizon: 902, known: log(903) });
    assert.deepEqual(records(c.caughtUp('e2', 905, log(905, 904))), ['c904', 'c905']);
    const twice = c.caughtUp('e2', 907, log(907, 906, 906));
    assert.equal(twice.dropAll, true, 'a number twice');
    assert.deepEqual(twice.restart, { horizon: 907, known: [] }, 'nothing of an altered log is trusted');
    assert.equal(c.caughtUp('e2', 909, log(909, 907)).dropAll, true, 'a number stands in for another');
    assert.equal(c.caughtUp('e2', 908, []).dropAll, true, 'a counter gone back');
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
