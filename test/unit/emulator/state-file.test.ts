import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateFile, stateLogPath, type StateFileContent } from '../../../src/emulator/state-file.js';
import { StateFileWriter, type StateFileWriterOptions } from '../../../src/emulator/state-file-writer.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cib-state-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Every writer a test made: closed after it, so that no log FileHandle is left to garbage collection. */
const writers: StateFileWriter[] = [];
afterEach(async () => {
  for (const w of writers.splice(0)) await w.close().catch(() => undefined);
});

/**
 * A tiny owner of state: a list of items; each change is the items added since the last commit
 * started, and a reader folds the logged changes into the snapshot's list.
 */
class Items {
  items: string[] = [];
  pending: string[] = [];
  snapshots = 0;
  changesCalls = 0;
  readonly writer: StateFileWriter;

  constructor(path: string, options: Partial<StateFileWriterOptions> = {}) {
    this.writer = new StateFileWriter(path, {
      snapshot: () => {
        this.snapshots++;
        return { items: [...this.items] };
      },
      changes: () => {
        this.changesCalls++;
        if (this.pending.length === 0) return undefined;
        const c = this.pending;
        this.pending = [];
        return c;
      },
      ...options,
    });
    writers.push(this.writer);
  }

  add(...xs: string[]): Promise<void> {
    this.items.push(...xs);
    this.pending.push(...xs);
    return this.writer.schedule();
  }
}

/** The items a state file holds: its snapshot's, then each logged change's. */
function load(path: string): string[] | undefined {
  const c = readStateFile(path);
  return c === undefined ? undefined : fold(c);
}

function fold(c: StateFileContent): string[] {
  return [...(c.data.items as string[]), ...c.changes.flatMap((x) => x as string[])];
}

void test('a missing file reads as undefined', (t) => {
  assert.equal(readStateFile(join(tempDir(t), 'nope.json')), undefined);
});

void test('the first commit writes a version-2 snapshot and an empty log, both private', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const s = new Items(path);
  await s.add('a');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(raw, { version: 2, generation: 1, items: ['a'] });
  assert.deepEqual(readStateFile(path), { data: { items: ['a'] }, changes: [], generation: 1 });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(stateLogPath(path)).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).sort(), ['state.json', 'state.json.log'], 'no temp file left behind');
});

void test('later commits append one record each and leave the snapshot alone', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path);
  await s.add('a');
  const snapshot = readFileSync(path, 'utf8');
  await s.add('b');
  await s.add('c', 'd');
  assert.equal(readFileSync(path, 'utf8'), snapshot);
  assert.equal(s.snapshots, 1);
  assert.deepEqual(readStateFile(path), { data: { items: ['a'] }, changes: [['b'], ['c', 'd']], generation: 1 });
  const lines = readFileSync(stateLogPath(path), 'utf8').split('\n');
  assert.equal(lines.length, 4, 'header, two records, and the newline after the last');
  assert.match(lines[1] ?? '', /^[0-9a-f]{8} \{"n":1,"change":\["b"\]\}$/);
});

void test('coalesces a burst of schedules into one commit of everything changed', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path);
  await s.add('first');
  const calls = s.changesCalls;
  const burst = Array.from({ length: 100 }, (_, i) => s.add(`x${String(i)}`));
  await Promise.all(burst);
  assert.equal(s.changesCalls - calls, 1);
  const c = readStateFile(path);
  assert.equal(c?.changes.length, 1);
  assert.equal(load(path)?.length, 101);
});

void test('schedules during a commit lead to exactly one more commit; flush waits for it', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path);
  await s.add('first');
  const calls = s.changesCalls;
  const first = s.add('a');
  // The commit starts on the next turn; these arrive while it is under way.
  await new Promise<void>((r) => setImmediate(r));
  for (let i = 0; i < 10; i++) void s.add(`b${String(i)}`);
  await first;
  await s.writer.flush();
  assert.equal(s.changesCalls - calls, 2);
  assert.equal(readStateFile(path)?.changes.length, 2);
  assert.deepEqual(load(path), s.items);
  await s.writer.flush(); // nothing pending: resolves at once
});

void test('group commit: a schedule resolves only once its change is on disk', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path);
  await s.add('first');
  const missing: string[] = [];
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const item = `u${String(i)}`;
      return s.add(item).then(() => {
        if (!(load(path) ?? []).includes(item)) missing.push(item);
      });
    }),
  );
  assert.deepEqual(missing, []);
});

void test('a damaged snapshot is refused with its name and the problem, and left untouched', (t) => {
  const dir = tempDir(t);
  const cases: [string, RegExp][] = [
    ['{"version":2,"pools":[', /is damaged \(not valid JSON/],
    ['', /is damaged \(not valid JSON/],
    ['[1,2]', /is damaged \(not a JSON object\)/],
    ['{"pools":[]}', /has version undefined, expected 1 or 2/],
    ['{"version":3}', /has version 3, expected 1 or 2/],
    ['{"version":2}', /is damaged \(no valid generation\)/],
  ];
  for (const [i, [content, problem]] of cases.entries()) {
    const path = join(dir, `s${String(i)}.json`);
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

void test('reads a version-1 file (a snapshot alone) as generation 0, and continues it', async (t) => {
  const path = join(tempDir(t), 'state.json');
  writeFileSync(path, JSON.stringify({ version: 1, items: ['old'] }));
  const c = readStateFile(path);
  assert.deepEqual(c, { data: { items: ['old'] }, changes: [], generation: 0 });
  const s = new Items(path, { generation: 0 });
  s.items = ['old'];
  await s.add('new');
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { version: number }).version, 2);
  assert.deepEqual(load(path), ['old', 'new']);
});

void test('a record cut short at the end of the log (a crash during its append) is ignored', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path);
  await s.add('a');
  await s.add('b');
  const log = stateLogPath(path);
  const whole = readFileSync(log);
  const torn = [
    // Part of a record, no newline.
    Buffer.concat([whole, Buffer.from('0badc0de {"n":2,"change":["c"')]),
    // The file grew, but the bytes of the append did not reach the disk (zeros, no newline).
    Buffer.concat([whole, Buffer.alloc(24)]),
    // Only the newline is missing.
    Buffer.concat([whole, readFileSync(log).subarray(whole.indexOf('\n') + 1, whole.length - 1)]),
  ];
  for (const content of torn) {
    writeFileSync(log, content);
    assert.deepEqual(load(path), ['a', 'b']);
    assert.deepEqual(readFileSync(log), content, 'left untouched');
  }
});

void test('damage to any complete record of the log is refused, naming the log, which is left untouched', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path);
  await s.add('a');
  await s.add('b');
  await s.add('c');
  const log = stateLogPath(path);
  const lines = readFileSync(log, 'utf8').split('\n');
  const cases: [string, RegExp][] = [
    // A flipped byte in record 1, with record 2 after it.
    [[lines[0], lines[1]?.replace('"b"', '"B"'), lines[2], ''].join('\n'), /record 1 fails its checksum/],
    // A flipped byte in the last record, its newline intact: a crash cannot write that, and the
    // record was acknowledged.
    [[lines[0], lines[1], lines[2]?.replace('"c"', '"C"'), ''].join('\n'), /record 2 fails its checksum\)/],
    // Record 2 twice.
    [[lines[0], lines[1], lines[2], lines[2], ''].join('\n'), /record 3 is out of sequence/],
    // No header.
    [[lines[1], lines[2], ''].join('\n'), /no valid header/],
  ];
  for (const [content, problem] of cases) {
    writeFileSync(log, content);
    assert.throws(
      () => readStateFile(path),
      (err: Error) => {
        assert.ok(err.message.includes(log), err.message);
        assert.match(err.message, problem);
        assert.match(err.message, /left untouched/);
        return true;
      },
    );
    assert.equal(readFileSync(log, 'utf8'), content);
  }
});

void test('a log older than its snapshot (a crash between the two renames of a compaction) is ignored', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const s = new Items(path);
  await s.add('a');
  await s.add('b');
  const oldLog = join(dir, 'old.log');
  copyFileSync(stateLogPath(path), oldLog);
  // The next snapshot holds 'b' too; put the log of the previous generation back beside it.
  await s.writer.close();
  copyFileSync(oldLog, stateLogPath(path));
  assert.deepEqual(readStateFile(path), { data: { items: ['a', 'b'] }, changes: [], generation: 2 });
});

void test('a log newer than its snapshot, or without one, is refused and left untouched', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const s = new Items(path);
  await s.add('a');
  await s.add('b');
  const log = stateLogPath(path);
  const content = readFileSync(log, 'utf8');
  writeFileSync(path, JSON.stringify({ version: 1, items: [] }));
  assert.throws(
    () => readStateFile(path),
    (err: Error) =>
      err.message.includes(log) &&
      /continues a later state file \(generation 1\)/.test(err.message) &&
      /untouched/.test(err.message),
  );
  rmSync(path);
  assert.throws(
    () => readStateFile(path),
    (err: Error) => err.message.includes(log) && /has no state file/.test(err.message),
  );
  assert.equal(readFileSync(log, 'utf8'), content);
});

void test('compacts once the log is larger than both logBytes and the snapshot', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const s = new Items(path, { logBytes: 200 });
  await s.add('x'.repeat(10));
  const generations: number[] = [];
  for (let i = 0; i < 40; i++) {
    await s.add(`item-${String(i)}`.padEnd(30, '.'));
    generations.push(readStateFile(path)?.generation ?? -1);
    assert.deepEqual(load(path), s.items);
  }
  const last = generations.at(-1) ?? 0;
  assert.ok(last >= 3, `compacted: generations ${generations.join(',')}`);
  // Logs grow as the snapshot does: compactions get rarer.
  const firstGap = generations.indexOf(3) - generations.indexOf(2);
  const lastGap = generations.indexOf(last) - generations.indexOf(last - 1);
  assert.ok(lastGap >= firstGap, generations.join(','));
  assert.ok(statSync(stateLogPath(path)).size < 2 * Math.max(200, statSync(path).size));
});

void test('close folds the log into the snapshot and removes it; later schedules are refused', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const s = new Items(path);
  await s.add('a');
  await s.add('b');
  await s.writer.close();
  assert.deepEqual(readdirSync(dir), ['state.json']);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 2, generation: 2, items: ['a', 'b'] });
  await assert.rejects(s.add('c'), /is closed/);
});

void test('close with nothing logged since the snapshot removes the log without a new snapshot', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const s = new Items(path);
  await s.add('a');
  await s.writer.close();
  assert.equal(s.snapshots, 1);
  assert.deepEqual(readdirSync(dir), ['state.json']);
  assert.deepEqual(load(path), ['a']);
});

void test('a failed write is reported by flush and onError, and leaves no temp file', async (t) => {
  const dir = tempDir(t);
  const errors: Error[] = [];
  const s = new Items(join(dir, 'missing-folder', 'state.json'), { onError: (e) => errors.push(e) });
  void s.add('a');
  await assert.rejects(s.writer.flush(), /state\.json could not be written/);
  assert.equal(errors.length, 1);
  await s.writer.flush(); // the error is reported once
  const bad = new StateFileWriter(join(dir, 'x.json'), { snapshot: () => [1, 2], changes: () => undefined });
  void bad.schedule();
  await assert.rejects(bad.flush(), /plain object/);
  assert.deepEqual(readdirSync(dir), []);
});

void test('a failed append refuses its changes and those made during it, and reports what is on disk', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'state');
  mkdirSync(dir);
  const path = join(dir, 'state.json');
  const reported: (StateFileContent | undefined)[] = [];
  const s = new Items(path, { onError: (_e, onDisk) => reported.push(onDisk) });
  await s.add('a');
  await s.add('b');
  // The folder goes away: the open log takes writes that no restart would read.
  rmSync(dir, { recursive: true, force: true });
  const failing = s.add('lost');
  await new Promise<void>((r) => setImmediate(r));
  const during = s.add('lost too');
  await assert.rejects(failing, /could not be written: .*was removed/);
  await assert.rejects(during, /could not be written/);
  assert.deepEqual(
    reported.map((r) => r && fold(r)),
    [['a', 'b']],
  );
  await assert.rejects(s.writer.flush(), /could not be written/);

  // The writer goes on working: its next commit writes a snapshot of the state as it is then.
  mkdirSync(dir);
  s.items = ['a', 'b'];
  s.pending = [];
  await s.add('c');
  assert.deepEqual(readStateFile(path), { data: { items: ['a', 'b', 'c'] }, changes: [], generation: 2 });
  await s.add('d');
  assert.deepEqual(load(path), ['a', 'b', 'c', 'd']);
});

void test('a failed compaction leaves the snapshot and log on disk as they were', async (t) => {
  const path = join(tempDir(t), 'state.json');
  const reported: (StateFileContent | undefined)[] = [];
  let fail = false;
  const items: string[] = [];
  let pending: string[] = [];
  const w = new StateFileWriter(path, {
    logBytes: 0,
    snapshot: () => (fail ? [1] : { items: [...items] }),
    changes: () => {
      const c = pending.length === 0 ? undefined : pending;
      pending = [];
      return c;
    },
    onError: (_e, onDisk) => reported.push(onDisk),
  });
  const add = (x: string): Promise<void> => {
    items.push(x);
    pending.push(x);
    return w.schedule();
  };
  await add('a'.repeat(100));
  await add('b');
  // The log is not yet larger than the snapshot; after this large change it is, so the next commit compacts.
  await add('c'.repeat(200));
  assert.equal(readStateFile(path)?.generation, 1);
  const before = [readFileSync(path), readFileSync(stateLogPath(path))];
  fail = true;
  await assert.rejects(add('d'), /plain object/);
  assert.deepEqual(
    reported.map((r) => r && fold(r)),
    [['a'.repeat(100), 'b', 'c'.repeat(200)]],
  );
  assert.deepEqual([readFileSync(path), readFileSync(stateLogPath(path))], before);
  // The next commit compacts again, and succeeds.
  fail = false;
  items.pop();
  await add('e');
  assert.deepEqual(readStateFile(path), {
    data: { items: ['a'.repeat(100), 'b', 'c'.repeat(200), 'e'] },
    changes: [],
    generation: 2,
  });
});
