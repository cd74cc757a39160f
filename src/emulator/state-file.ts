import { readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** The format version written to, and required in, state files. */
export const STATE_FILE_VERSION = 1;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withoutVersion(data: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...data };
  delete copy.version;
  return copy;
}

/**
 * Reads a state file written by {@link StateFileWriter}. Returns the saved data without its
 * `version` field, or `undefined` when the file does not exist. Never modifies the file.
 * @throws Error naming the file and the problem when it cannot be read, is not JSON, or has
 *   another `version`.
 */
export function readStateFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`emulator state file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `emulator state file ${path} is damaged (not valid JSON: ${(err as Error).message}); ` +
        'it was left untouched: fix or delete it',
      { cause: err },
    );
  }
  if (!isRecord(data)) {
    throw new Error(
      `emulator state file ${path} is damaged (not a JSON object); it was left untouched: fix or delete it`,
    );
  }
  if (data.version !== STATE_FILE_VERSION) {
    throw new Error(
      `emulator state file ${path} has version ${data.version === undefined ? 'undefined' : JSON.stringify(data.version)}, ` +
        `expected ${STATE_FILE_VERSION}; it was left untouched: fix or delete it`,
    );
  }
  return withoutVersion(data);
}

/** Options of {@link StateFileWriter}. */
export interface StateFileWriterOptions {
  /**
   * Called when a background write fails (the next `flush()` rejects with the same error too).
   * Default: nothing.
   */
  onError?: (err: Error) => void;
}

/**
 * Writes snapshots of the emulator's state atomically: a temp file in the same folder, fsync,
 * rename over the target, then fsync of the folder. Bursts of {@link schedule} calls coalesce:
 * at most one write is in flight, followed by at most one more that takes the latest snapshot.
 * The file is created with mode 0600 (it holds signing keys).
 */
export class StateFileWriter {
  readonly path: string;
  readonly #onError: ((err: Error) => void) | undefined;
  #snapshot: (() => unknown) | undefined;
  #running: Promise<void> | undefined;
  #error: Error | undefined;

  /** Does no I/O. */
  constructor(path: string, options: StateFileWriterOptions = {}) {
    if (typeof path !== 'string' || path.length === 0)
      throw new TypeError('state file path must be a non-empty string');
    this.path = path;
    this.#onError = options.onError;
  }

  /**
   * Asks for a write of `snapshot()` soon. The function is called when the write starts, so it
   * sees the latest state; it must return a plain object (written as `{version: 1, ...it}`).
   */
  schedule(snapshot: () => unknown): void {
    this.#snapshot = snapshot;
    this.#running ??= this.#drain();
  }

  /**
   * Resolves once every scheduled snapshot is on disk.
   * @throws the error of a failed write since the last flush.
   */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
    const err = this.#error;
    this.#error = undefined;
    if (err) throw err;
  }

  async #drain(): Promise<void> {
    // Let the current burst of schedule() calls finish before taking a snapshot.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.#snapshot) {
        const snapshot = this.#snapshot;
        this.#snapshot = undefined;
        try {
          await this.#write(snapshot);
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          this.#error = e;
          this.#onError?.(e);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #write(snapshot: () => unknown): Promise<void> {
    const data = snapshot();
    if (!isRecord(data)) throw new TypeError('state snapshot must be a plain object');
    const text = `${JSON.stringify({ version: STATE_FILE_VERSION, ...withoutVersion(data) })}\n`;
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    let renamed = false;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      renamed = true;
      await syncDir(dir);
    } catch (err) {
      if (!renamed) await unlink(tmp).catch(() => undefined);
      throw new Error(`emulator state file ${this.path} could not be written: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/** fsync of the folder makes the rename durable; some platforms cannot open folders, which is fine. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Best effort: the data file itself is already synced.
  } finally {
    await fh?.close();
  }
}
