// The emulator's bin in a child process, for tests that must crash it, signal it or run two at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/emulator/cli.ts', import.meta.url));
/** Generous: tsx compiles the emulator on a busy 2-core machine. */
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 20_000;

export interface BinExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started bin: its endpoint and the lines it printed after it. */
export interface EmulatorBin {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly lines: readonly string[];
  readonly stderr: () => string;
  readonly exit: Promise<BinExit>;
  /** SIGKILL (no chance to save or unlock); resolves once the process is gone. */
  kill(): Promise<BinExit>;
  /** SIGTERM (a clean stop); resolves with the exit, or SIGKILLs it after a generous timeout. */
  stop(): Promise<BinExit>;
}

/** Spawns the bin under tsx; `exit` resolves when it ends. */
export function spawnBin(args: readonly string[]): {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<BinExit>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<BinExit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => err, exit };
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Starts the bin and waits for its endpoint line and `extraLines` more (one per seeded pool).
 * Register `bin.kill` with the test's `after` so the process never outlives the test.
 */
export async function startBin(args: readonly string[], extraLines = 0): Promise<EmulatorBin> {
  const { child, stderr, exit } = spawnBin(args);
  const got: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the emulator did not print its endpoint in time; stderr: ${stderr()}`));
      }, START_TIMEOUT_MS);
      lines.on('line', (line) => {
        got.push(line);
        if (got.length === 1 + extraLines) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exit.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`the emulator exited with ${String(code)} before printing; stderr: ${stderr()}`));
      });
    });
  } catch (err) {
    if (alive(child)) child.kill('SIGKILL');
    await exit;
    throw err;
  }
  const end = async (signal: NodeJS.Signals): Promise<BinExit> => {
    if (alive(child)) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  };
  const [endpoint, ...rest] = got as [string, ...string[]];
  return {
    child,
    endpoint,
    lines: rest,
    stderr,
    exit,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

/** Runs the bin to its end (it is expected to exit by itself), SIGKILLing it after a generous timeout. */
export async function runBinToExit(args: readonly string[]): Promise<BinExit & { stderr: string }> {
  const { child, stderr, exit } = spawnBin(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  try {
    const e = await exit;
    return { ...e, stderr: stderr() };
  } finally {
    clearTimeout(timer);
  }
}
