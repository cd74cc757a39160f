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
   * Called when a write fails, before the callers waiting on it are refused, with the data last
   * written (without `version`; `undefined` when this writer has written nothing yet): every change
   * since is refused, so the owner returns its state to this data. Default: nothing.
   */
  onError?: (err: Error, lastWritten: unknown) => void;
}

interface Batch {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that does not wait for its commit must not cause an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Writes snapshots of the emulator's state durably and atomically: a temp file in the same folder,
 * fsync, rename over the target, then fsync of the folder. Group commit: every {@link schedule}
 * made before a write starts shares that write (one snapshot, taken when the write starts, holds
 * all their changes); at most one write is in flight, and schedules made during it share the next.
 * The file is created with mode 0600 (it holds signing keys).
 */
export class StateFileWriter {
  readonly path: string;
  readonly #onError: ((err: Error, lastWritten: unknown) => void) | undefined;
  #snapshot: (() => unknown) | undefined;
  /** The callers waiting for the next write. */
  #pending: Batch | undefined;
  #running: Promise<void> | undefined;
  #error: Error | undefined;
  /** The text on disk, written by this writer. */
  #lastText: string | undefined;

  /** Does no I/O. */
  constructor(path: string, options: StateFileWriterOptions = {}) {
    if (typeof path !== 'string' || path.length === 0)
      throw new TypeError('state file path must be a non-empty string');
    this.path = path;
    this.#onError = options.onError;
  }

  /**
   * Asks for a write of `snapshot()`, which is called when the write starts so that it sees the
   * latest state; it must return a plain object (written as `{version: 1, ...it}`). The promise
   * resolves once a snapshot taken after this call is on disk, and rejects when that write fails
   * (then every change not yet on disk is refused: see {@link StateFileWriterOptions.onError}).
   * Ignoring the promise is safe: the error is then only reported by `flush()` and `onError`.
   */
  schedule(snapshot: () => unknown): Promise<void> {
    this.#snapshot = snapshot;
    this.#pending ??= newBatch();
    this.#running ??= this.#drain();
    return this.#pending.promise;
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
    try {
      // Let the requests already received make their changes, so that they share this write.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let batch = this.#pending; this.#snapshot && batch; batch = this.#pending) {
        const snapshot = this.#snapshot;
        this.#takePending();
        try {
          await this.#write(snapshot);
          batch.resolve();
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          this.#error = e;
          // The changes scheduled during the failed write sit on top of the failed ones: refuse them too.
          const later = this.#takePending();
          try {
            this.#onError?.(e, this.#lastText === undefined ? undefined : parseWritten(this.#lastText));
          } finally {
            batch.reject(e);
            later?.reject(e);
          }
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  #takePending(): Batch | undefined {
    const batch = this.#pending;
    this.#snapshot = undefined;
    this.#pending = undefined;
    return batch;
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
    this.#lastText = text;
  }
}

function parseWritten(text: string): unknown {
  return withoutVersion(JSON.parse(text) as Record<string, unknown>);
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
