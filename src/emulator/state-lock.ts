import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/** Who holds a state file, as recorded in its lock file. */
export interface LockHolder {
  readonly pid: number;
  /** When the holder took the lock (ISO 8601). */
  readonly startedAt: string;
  readonly host: string;
  /**
   * The holder's process start time from `/proc/PID/stat` (clock ticks since boot), where the
   * platform has it: a live process with the holder's pid but another start time reuses the pid.
   */
  readonly processStart?: string;
  /** Random, so that a process releases only its own lock. */
  readonly nonce: string;
}

/** A lock taken by {@link acquireStateLock}. */
export interface StateLock {
  /** The lock file: the state file's path plus `.lock`. */
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this lock's. Idempotent; never throws. */
  release(): Promise<void>;
}

/** Bounds the retries when several processes race for a stale lock. */
const MAX_ATTEMPTS = 20;
const RETRY_MS = 25;

/** The start time of a process, field 22 of `/proc/PID/stat`; undefined where there is no /proc. */
function processStart(pid: number | 'self'): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function isHolder(v: unknown): v is LockHolder {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  return (
    Number.isInteger(h.pid) &&
    typeof h.startedAt === 'string' &&
    typeof h.host === 'string' &&
    typeof h.nonce === 'string' &&
    (h.processStart === undefined || typeof h.processStart === 'string')
  );
}

/**
 * Whether the recorded holder still runs. A lock from another host cannot be checked and counts as
 * held. On this host: the pid must be alive (EPERM means alive under another user) and, where
 * /proc gives start times, have the recorded start time (else the pid was reused).
 */
function holderAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  if (h.pid === process.pid && h.processStart === processStart('self')) return true;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.processStart === undefined) return true;
  const now = processStart(h.pid);
  return now === undefined || now === h.processStart;
}

function describe(h: LockHolder): string {
  return `pid ${h.pid}, started at ${h.startedAt}${h.host === hostname() ? '' : ` on host ${h.host}`}`;
}

async function readHolder(path: string): Promise<{ text: string; holder: LockHolder | undefined } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { text, holder: isHolder(parsed) ? parsed : undefined };
}

/** Creates `path` with `text` if it does not exist (O_CREAT | O_EXCL); false when it exists. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * Takes the lock of a state file: `STATEFILE.lock`, created exclusively (O_EXCL), holding the pid,
 * host, start time and process start time of its holder. A lock whose holder is gone (its pid dead
 * or reused) is taken over; takeovers go through a second exclusive file, `STATEFILE.lock.takeover`,
 * so that two processes racing for one stale lock cannot both win.
 *
 * @throws Error naming the state file and the holder (pid, start time) when another live process
 *   holds the lock, or when the lock file cannot be created.
 */
export async function acquireStateLock(stateFile: string): Promise<StateLock> {
  const path = `${stateFile}.lock`;
  const guard = `${path}.takeover`;
  const holder: LockHolder = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    host: hostname(),
    ...(processStart('self') === undefined ? {} : { processStart: processStart('self') }),
    nonce: randomBytes(12).toString('hex'),
  };
  const text = `${JSON.stringify(holder)}\n`;
  const lock: StateLock = {
    path,
    holder,
    release: async () => {
      try {
        const now = await readHolder(path);
        if (now?.holder?.nonce === holder.nonce) await unlink(path);
      } catch {
        // Best effort: a lock left behind by a process that is gone is taken over.
      }
    },
  };
  const fail = (err: unknown): Error =>
    new Error(`emulator state file ${stateFile} cannot be locked (${path}): ${(err as Error).message}`, {
      cause: err,
    });

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      if (await createExclusive(path, text)) return lock;
      const seen = await readHolder(path);
      if (seen === undefined) continue; // released meanwhile
      // An unreadable lock may be one being written right now: give its writer a moment.
      if (seen.holder === undefined && attempt < MAX_ATTEMPTS / 2) {
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      if (seen.holder !== undefined && holderAlive(seen.holder)) {
        throw new LockHeldError(
          `emulator state file ${stateFile} is in use by another emulator (${describe(seen.holder)}; lock ${path}): ` +
            'stop that emulator or use another state file',
        );
      }
      const guardHolder = await readHolder(guard);
      if (guardHolder !== undefined) {
        // Another process is taking the stale lock over; if it died doing so, clear its guard.
        if (guardHolder.holder !== undefined && !holderAlive(guardHolder.holder)) await unlink(guard).catch(() => 0);
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      if (!(await createExclusive(guard, text))) continue;
      try {
        // Under the guard, the stale lock is replaced only if nobody replaced it meanwhile.
        const again = await readHolder(path);
        if (again?.text === seen.text) await unlink(path);
        if (await createExclusive(path, text)) return lock;
      } finally {
        await unlink(guard).catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof LockHeldError) throw err;
      throw fail(err);
    }
  }
  throw fail(new Error(`gave up after ${MAX_ATTEMPTS} attempts`));
}

/** Another live process holds the state file. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
}
