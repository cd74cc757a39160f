import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateFile, StateFileWriter } from '../../../src/emulator/state-file.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cib-state-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

void test('a missing file reads as undefined', (t) => {
  assert.equal(readStateFile(join(tempDir(t), 'nope.json')), undefined);
});

void test('writes {version: 1, ...} atomically and reads it back without version', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const w = new StateFileWriter(path);
  void w.schedule(() => ({ pools: [{ id: 'us-east-1:1' }], version: 99 }));
  await w.flush();
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(raw, { version: 1, pools: [{ id: 'us-east-1:1' }] });
  assert.deepEqual(readStateFile(path), { pools: [{ id: 'us-east-1:1' }] });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json'], 'no temp file left behind');
});

void test('coalesces a burst of schedules into one write of the latest state', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const w = new StateFileWriter(path);
  let snapshots = 0;
  let n = 0;
  for (let i = 0; i < 100; i++) {
    n = i;
    void w.schedule(() => {
      snapshots++;
      return { n };
    });
  }
  await w.flush();
  assert.equal(snapshots, 1);
  assert.deepEqual(readStateFile(path), { n: 99 });
});

void test('schedules during a write lead to exactly one more write; flush waits for it', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const w = new StateFileWriter(path);
  let snapshots = 0;
  let n = 0;
  const snap = (): unknown => {
    snapshots++;
    if (snapshots === 1) {
      // While the first write is under way, more changes arrive.
      for (let i = 0; i < 10; i++) {
        n++;
        void w.schedule(snap);
      }
    }
    return { n };
  };
  void w.schedule(snap);
  await w.flush();
  assert.equal(snapshots, 2);
  assert.deepEqual(readStateFile(path), { n: 10 });
  await w.flush(); // nothing pending: resolves at once
});

void test('a damaged file is refused with its name and the problem, and left untouched', (t) => {
  const dir = tempDir(t);
  const cases: [string, RegExp][] = [
    ['{"version":1,"pools":[', /is damaged \(not valid JSON/],
    ['', /is damaged \(not valid JSON/],
    ['[1,2]', /is damaged \(not a JSON object\)/],
    ['{"pools":[]}', /has version undefined, expected 1/],
    ['{"version":2}', /has version 2, expected 1/],
  ];
  for (const [i, [content, problem]] of cases.entries()) {
    const path = join(dir, `s${i}.json`);
    writeFileSync(path, content);
    const before = statSync(path).mtimeMs;
    assert.throws(
      () => readStateFile(path),
      (err: Error) => {
        assert.ok(err.message.includes(path), err.message);
        assert.match(err.message, problem);
        assert.match(err.message, /left untouched/);
        return true;
      },
    );
    assert.equal(readFileSync(path, 'utf8'), content);
    assert.equal(statSync(path).mtimeMs, before);
  }
});

void test('an unreadable path names the file', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => readStateFile(dir),
    (err: Error) => err.message.includes(dir) && /cannot be read/.test(err.message),
  );
});

void test('a failed write is reported by flush and onError, and leaves no temp file', async (t) => {
  const dir = tempDir(t);
  const errors: Error[] = [];
  const w = new StateFileWriter(join(dir, 'missing-folder', 'state.json'), { onError: (e) => errors.push(e) });
  void w.schedule(() => ({ a: 1 }));
  await assert.rejects(w.flush(), /state\.json could not be written/);
  assert.equal(errors.length, 1);
  await w.flush(); // the error is reported once
  const bad = new StateFileWriter(join(dir, 'x.json'));
  void bad.schedule(() => [1, 2]);
  await assert.rejects(bad.flush(), /plain object/);
  assert.deepEqual(readdirSync(dir), []);
});

void test('replaces the previous file in one step', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const w = new StateFileWriter(path);
  void w.schedule(() => ({ generation: 1 }));
  await w.flush();
  void w.schedule(() => ({ generation: 2, big: 'x'.repeat(1_000_000) }));
  await w.flush();
  assert.equal((readStateFile(path) as { generation: number }).generation, 2);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

void test('group commit: a schedule resolves only once a snapshot taken after it is on disk', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const w = new StateFileWriter(path);
  let n = 0;
  let snapshots = 0;
  const seen: number[] = [];
  const snap = (): unknown => {
    snapshots++;
    return { n };
  };
  // A burst shares one write.
  const burst = Array.from({ length: 50 }, () => {
    n++;
    const mine = n;
    return w.schedule(snap).then(() => {
      seen.push((readStateFile(path) as { n: number }).n - mine);
    });
  });
  await Promise.all(burst);
  assert.equal(snapshots, 1);
  // Each waiter found its own change (or a later state) on disk when it resolved.
  assert.ok(
    seen.every((d) => d >= 0),
    String(seen),
  );
  // A change made while a write is in flight waits for the next write.
  n = 100;
  const first = w.schedule(snap);
  await new Promise<void>((r) => setImmediate(r));
  n = 200;
  const second = w.schedule(snap);
  await first;
  await second;
  assert.deepEqual(readStateFile(path), { n: 200 });
});

void test('a failed write refuses its changes and those made during it, and reports the data on disk', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const reported: unknown[] = [];
  const w = new StateFileWriter(path, { onError: (_e, lastWritten) => reported.push(lastWritten) });
  await w.schedule(() => ({ generation: 1 }));
  let failNext = true;
  let duringWrite: Promise<void> | undefined;
  const failing = w.schedule(() => {
    if (failNext) {
      failNext = false;
      // A change arrives while this write is under way; then the write fails.
      duringWrite = w.schedule(() => ({ generation: 3 }));
      return [1];
    }
    return { generation: 2 };
  });
  await assert.rejects(failing, /plain object/);
  assert.ok(duringWrite);
  await assert.rejects(duringWrite, /plain object/);
  assert.deepEqual(reported, [{ generation: 1 }]);
  assert.deepEqual(readStateFile(path), { generation: 1 });
  await assert.rejects(w.flush(), /plain object/);
  // The writer goes on working.
  await w.schedule(() => ({ generation: 4 }));
  assert.deepEqual(readStateFile(path), { generation: 4 });
});
