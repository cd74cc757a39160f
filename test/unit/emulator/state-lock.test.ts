import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireStateLock, type LockHolder } from '../../../src/emulator/state-lock.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cib-lock-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeLock(stateFile: string, holder: Partial<LockHolder>): void {
  const full: LockHolder = {
    pid: process.pid,
    startedAt: '2026-01-02T03:04:05.000Z',
    host: hostname(),
    nonce: 'someone-else',
    ...holder,
  };
  writeFileSync(`${stateFile}.lock`, JSON.stringify(full));
}

function holderOf(stateFile: string): LockHolder {
  return JSON.parse(readFileSync(`${stateFile}.lock`, 'utf8')) as LockHolder;
}

void test('takes a free lock, records the holder, and releases only its own lock', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  const lock = await acquireStateLock(stateFile);
  const holder = holderOf(stateFile);
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.host, hostname());
  assert.ok(!Number.isNaN(Date.parse(holder.startedAt)));
  await lock.release();
  assert.equal(existsSync(`${stateFile}.lock`), false);
  writeLock(stateFile, { pid: deadPid() });
  await lock.release(); // someone else's lock now: left alone
  assert.equal(holderOf(stateFile).nonce, 'someone-else');
});

void test('refuses a lock held by a live process, naming the file and the holder', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  const first = await acquireStateLock(stateFile);
  await assert.rejects(acquireStateLock(stateFile), (err: Error) => {
    assert.ok(err.message.includes(stateFile), err.message);
    assert.ok(err.message.includes(`(pid ${String(process.pid)}, started at `), err.message);
    assert.match(err.message, /started at \d{4}-\d\d-\d\dT/);
    return true;
  });
  await first.release();
  const again = await acquireStateLock(stateFile);
  await again.release();
});

void test('takes over the lock of a dead process', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  writeLock(stateFile, { pid: deadPid() });
  const lock = await acquireStateLock(stateFile);
  assert.equal(holderOf(stateFile).pid, process.pid);
  await lock.release();
});

void test('takes over a lock whose live pid belongs to a process started later (pid reuse)', async (t) => {
  if (!existsSync('/proc/self/stat')) {
    t.skip('no /proc on this platform: pid liveness alone decides');
    return;
  }
  const stateFile = join(tempDir(t), 'state.json');
  writeLock(stateFile, { pid: process.pid, processStart: '1' });
  const lock = await acquireStateLock(stateFile);
  assert.notEqual(holderOf(stateFile).nonce, 'someone-else');
  await lock.release();
});

void test('of many racing for one stale lock, exactly one wins', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  writeLock(stateFile, { pid: deadPid() });
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireStateLock(stateFile)));
  const won = results.filter((r) => r.status === 'fulfilled');
  assert.equal(won.length, 1);
  for (const r of results) if (r.status === 'rejected') assert.match((r.reason as Error).message, /in use by/);
  assert.equal(existsSync(`${stateFile}.lock.takeover`), false);
  await won[0]?.value.release();
});

void test('takes over a lock file left empty or garbled', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  writeFileSync(`${stateFile}.lock`, '');
  const lock = await acquireStateLock(stateFile);
  assert.equal(holderOf(stateFile).pid, process.pid);
  await lock.release();
});

void test('a lock from another host counts as held', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  writeLock(stateFile, { pid: deadPid(), host: 'elsewhere.example' });
  await assert.rejects(acquireStateLock(stateFile), /on host elsewhere\.example/);
});
