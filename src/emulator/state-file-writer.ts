import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import {
  DEFAULT_STATE_LOG_BYTES,
  frame,
  isRecord,
  STATE_FILE_VERSION,
  stateLogPath,
  withoutReserved,
  type StateFileContent,
} from './state-file.js';

/** Options of {@link StateFileWriter}. */
export interface StateFileWriterOptions {
  /**
   * The whole state, a plain object, written as `{version, generation, ...it}` when the writer
   * compacts (first write, a log past `logBytes`, after a failed write, at {@link StateFileWriter.close}).
   */
  readonly snapshot: () => unknown;
  /**
   * What changed since its previous call, as JSON-serialisable data (`undefined`: nothing);
   * called as each commit starts, and appended to the log as one record. Changes are read back in
   * order by `readStateFile`; the owner applies them to the snapshot's data.
   */
  readonly changes: () => unknown;
  /** The generation of the snapshot on disk (from `readStateFile`); default 0 (none). */
  readonly generation?: number;
  /**
   * The writer compacts (writes a new snapshot and starts an empty log) once the log is larger
   * than both this many bytes and the last snapshot, so that the cost of snapshots stays
   * proportional to what is logged. Default {@link DEFAULT_STATE_LOG_BYTES}.
   */
  readonly logBytes?: number;
  /**
   * Called when a commit fails, before the callers waiting on it are refused, with what is on disk
   * (`undefined` when this writer has written nothing yet): every change since is refused, so the
   * owner returns its state to it. Default: nothing.
   */
  readonly onError?: (err: Error, onDisk: StateFileContent | undefined) => void;
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
 * Keeps the emulator's state durably in a snapshot and an append-only log beside it.
 *
 * Group commit: every {@link schedule} made before a commit starts shares that commit, which
 * appends what changed (one checksummed line) to the log and fdatasyncs it once; at most one
 * commit is in flight, and schedules made during it share the next. The snapshot is written
 * (temp file in the same folder, fsync, rename over the target, fsync of the folder) only when
 * the writer compacts; then an empty log of the new snapshot's generation replaces the old one the
 * same way. A crash at any step leaves a snapshot and either its own log or an older one, which
 * `readStateFile` ignores. Both files are created with mode 0600 (they hold signing keys).
 */
export class StateFileWriter {
  readonly path: string;
  readonly logPath: string;
  readonly #snapshot: () => unknown;
  readonly #changes: () => unknown;
  readonly #logBytes: number;
  readonly #onError: ((err: Error, onDisk: StateFileContent | undefined) => void) | undefined;
  /** The callers waiting for the next commit. */
  #pending: Batch | undefined;
  #running: Promise<void> | undefined;
  #error: Error | undefined;
  #closed = false;
  #generation: number;
  /** The log of the snapshot on disk, open for appends; undefined until the next compaction. */
  #log: FileHandle | undefined;
  #logSize = 0;
  #records = 0;
  #compact = true;
  /** What is on disk, written by this writer: the snapshot's text and the log's records since. */
  #lastSnapshot: string | undefined;
  #snapshotSize = 0;
  #logged: string[] = [];

  /** Does no I/O. */
  constructor(path: string, options: StateFileWriterOptions) {
    if (typeof path !== 'string' || path.length === 0)
      throw new TypeError('state file path must be a non-empty string');
    const logBytes = options.logBytes ?? DEFAULT_STATE_LOG_BYTES;
    if (!Number.isSafeInteger(logBytes) || logBytes < 0) throw new TypeError('logBytes must be a non-negative integer');
    this.path = path;
    this.logPath = stateLogPath(path);
    this.#snapshot = options.snapshot;
    this.#changes = options.changes;
    this.#logBytes = logBytes;
    this.#onError = options.onError;
    this.#generation = options.generation ?? 0;
  }

  /**
   * Asks for a commit of every change made so far. The promise resolves once they are on disk,
   * and rejects when that commit fails (then every change not yet on disk is refused: see
   * {@link StateFileWriterOptions.onError}). Ignoring the promise is safe: the error is then only
   * reported by `flush()` and `onError`.
   */
  schedule(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`emulator state file ${this.path} is closed`));
    this.#pending ??= newBatch();
    this.#running ??= this.#drain();
    return this.#pending.promise;
  }

  /**
   * Resolves once every scheduled commit is done.
   * @throws the error of a failed commit since the last flush.
   */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
    const err = this.#error;
    this.#error = undefined;
    if (err) throw err;
  }

  /**
   * Waits for every scheduled commit, then folds the log into a last snapshot and removes it, so
   * that the state file alone holds the state. Later schedules are refused.
   * @throws the error of a failed commit since the last flush, or of the last snapshot (the log
   *   then still holds every change that was acknowledged).
   */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.flush();
      if (this.#lastSnapshot === undefined) return;
      if (this.#records > 0 || this.#compact) {
        this.#changes();
        await this.#writeSnapshot();
      }
      await this.#closeLog();
      await unlink(this.logPath).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      });
      await syncDir(dirname(this.path));
    } finally {
      await this.#closeLog();
    }
  }

  async #drain(): Promise<void> {
    try {
      // Let the requests already received make their changes, so that they share this commit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let batch = this.#takePending(); batch; batch = this.#takePending()) {
        try {
          await this.#commit();
          batch.resolve();
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          this.#error = e;
          // The next commit writes a snapshot: the log may end in part of the failed record.
          this.#compact = true;
          // The changes scheduled during the failed commit sit on top of the failed ones: refuse them too.
          const later = this.#takePending();
          try {
            this.#onError?.(e, this.#onDisk());
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
    this.#pending = undefined;
    return batch;
  }

  async #commit(): Promise<void> {
    // Both are taken before any await, so they see the state as this commit starts.
    const change = this.#changes();
    const full =
      this.#compact || this.#log === undefined || this.#logSize > Math.max(this.#logBytes, this.#snapshotSize);
    if (full) {
      await this.#writeSnapshot();
      await this.#startLog();
    } else if (change !== undefined) {
      await this.#append(JSON.stringify({ n: this.#records + 1, change }));
    }
  }

  async #append(json: string): Promise<void> {
    const log = this.#log as FileHandle;
    const line = frame(json);
    try {
      await log.appendFile(line);
      await log.datasync();
      // An open log whose file was removed (its folder deleted) takes writes that no restart reads.
      if ((await log.stat()).nlink === 0) throw new Error(`${this.logPath} was removed`);
    } catch (err) {
      // Best effort: a refused change must not come back at the next start.
      await log.truncate(this.#logSize).catch(() => undefined);
      await this.#closeLog();
      throw this.#writeError(err);
    }
    this.#logSize += line.length;
    this.#records += 1;
    this.#logged.push(json);
  }

  /** Writes the whole state as the next generation's snapshot; the log on disk is stale from then. */
  async #writeSnapshot(): Promise<void> {
    const data = this.#snapshot();
    if (!isRecord(data)) throw new TypeError('state snapshot must be a plain object');
    const generation = this.#generation + 1;
    const text = `${JSON.stringify({ version: STATE_FILE_VERSION, generation, ...withoutReserved(data) })}\n`;
    try {
      await writeAtomically(this.path, text);
    } catch (err) {
      throw this.#writeError(err);
    }
    this.#generation = generation;
    this.#lastSnapshot = text;
    this.#snapshotSize = Buffer.byteLength(text);
    this.#logged = [];
    this.#records = 0;
    this.#compact = false;
    await this.#closeLog();
  }

  /**
   * Replaces the log with an empty one of the snapshot's generation. A failure leaves the commit
   * durable (the snapshot holds it) and makes the next commit compact again.
   */
  async #startLog(): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.logPath)}.${String(process.pid)}.${randomBytes(6).toString('hex')}.tmp`);
    const header = frame(JSON.stringify({ version: STATE_FILE_VERSION, generation: this.#generation }));
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, 'ax', 0o600);
      await fh.appendFile(header);
      await fh.datasync();
      await rename(tmp, this.logPath);
      await syncDir(dir);
    } catch {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      this.#compact = true;
      return;
    }
    // The handle follows the file through the rename.
    this.#log = fh;
    this.#logSize = header.length;
  }

  async #closeLog(): Promise<void> {
    const log = this.#log;
    this.#log = undefined;
    await log?.close().catch(() => undefined);
  }

  #writeError(err: unknown): Error {
    return new Error(`emulator state file ${this.path} could not be written: ${(err as Error).message}`, {
      cause: err,
    });
  }

  #onDisk(): StateFileContent | undefined {
    if (this.#lastSnapshot === undefined) return undefined;
    const data = withoutReserved(JSON.parse(this.#lastSnapshot) as Record<string, unknown>);
    const changes = this.#logged.map((json) => (JSON.parse(json) as { change: unknown }).change);
    return { data, changes, generation: this.#generation };
  }
}

/** Temp file in the same folder, fsync, rename over `path`, fsync of the folder. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${String(process.pid)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    await syncDir(dir);
  } catch (err) {
    if (!renamed) await unlink(tmp).catch(() => undefined);
    throw err;
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
