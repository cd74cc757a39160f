import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { runBinToExit, startBin, type EmulatorBin } from '../helpers/emulator-bin.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cib-lock-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function lockPid(stateFile: string): number {
  return (JSON.parse(readFileSync(`${stateFile}.lock`, 'utf8')) as { pid: number }).pid;
}

void test('a second emulator on the same state file refuses to start, exits non-zero and names the file and the holder', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  const running: EmulatorBin[] = [];
  t.after(async () => {
    for (const bin of running) await bin.kill();
  });
  const first = await startBin(['--state-file', stateFile]);
  running.push(first);
  const before = readFileSync(stateFile, 'utf8');
  const second = await runBinToExit(['--state-file', stateFile]);
  assert.equal(second.code, 1);
  assert.ok(second.stderr.includes(stateFile), second.stderr);
  assert.ok(
    second.stderr.includes(`in use by another emulator (pid ${String(first.child.pid)}, started at `),
    second.stderr,
  );
  assert.equal(readFileSync(stateFile, 'utf8'), before, 'the refused process wrote nothing');
  assert.equal(lockPid(stateFile), first.child.pid);
});

void test('the lock of a killed emulator is taken over by the next one', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  const running: EmulatorBin[] = [];
  t.after(async () => {
    for (const bin of running) await bin.kill();
  });
  const first = await startBin(['--state-file', stateFile]);
  running.push(first);
  await first.kill();
  assert.equal(lockPid(stateFile), first.child.pid, 'SIGKILL left the lock behind');
  const second = await startBin(['--state-file', stateFile]);
  running.push(second);
  assert.equal(lockPid(stateFile), second.child.pid);
  assert.equal((await second.stop()).code, 0);
});

void test('a clean stop releases the lock', async (t) => {
  const stateFile = join(tempDir(t), 'state.json');
  const running: EmulatorBin[] = [];
  t.after(async () => {
    for (const bin of running) await bin.kill();
  });
  const bin = await startBin(['--state-file', stateFile]);
  running.push(bin);
  assert.equal((await bin.stop()).code, 0);
  assert.equal(existsSync(`${stateFile}.lock`), false);

  // In process too: startEmulator refuses a held file and takes it once stop() released it.
  const a = await startEmulator({ stateFile });
  let refusal: string;
  try {
    // Whatever starts is stopped, so that a failing test cannot leave a server running.
    refusal = await startEmulator({ stateFile }).then(
      async (b) => {
        await b.stop();
        return 'it started';
      },
      (err: unknown) => (err as Error).message,
    );
  } finally {
    await a.stop();
  }
  assert.match(refusal, /in use by another emulator/);
  assert.equal(existsSync(`${stateFile}.lock`), false);
  const b = await startEmulator({ stateFile });
  await b.stop();
});
