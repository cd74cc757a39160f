import { readFileSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The format version written to state files and their logs. Version-1 files (a snapshot alone,
 * without `generation`) are still read, as generation 0.
 */
export const STATE_FILE_VERSION = 2;

/** The default of {@link StateFileWriterOptions.logBytes}: 8 MiB. */
export const DEFAULT_STATE_LOG_BYTES = 8 * 1024 * 1024;

/** The log beside a state file: the changes made since its snapshot. */
export function stateLogPath(path: string): string {
  return `${path}.log`;
}

/**
 * What a state file holds: the data of its snapshot and the changes logged since, oldest first,
 * as the owner gave them to {@link StateFileWriterOptions.changes}.
 */
export interface StateFileContent {
  readonly data: Record<string, unknown>;
  readonly changes: readonly unknown[];
  /** The snapshot's generation (0 for a version-1 file); the writer continues from it. */
  readonly generation: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The data without the snapshot's own bookkeeping (`version`, `generation`), which it cannot use. */
function withoutReserved(data: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...data };
  delete copy.version;
  delete copy.generation;
  return copy;
}

function untouched(path: string, problem: string): Error {
  return new Error(`${path} ${problem}; it was left untouched: fix or delete it`);
}

/**
 * One line of the log: the CRC-32 of the JSON text (8 hex digits), a space, the JSON text, `\n`.
 * JSON text never holds a raw newline, so a line is one record, and a record cut short by a crash
 * fails its checksum or lacks its newline.
 */
function frame(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  return Buffer.concat([Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} `, 'latin1'), body, NEWLINE]);
}

const NEWLINE = Buffer.from('\n', 'latin1');

/** The JSON text of a framed line, or undefined when its checksum does not match. */
function unframe(line: Buffer): string | undefined {
  if (line.length < 9 || line[8] !== 0x20) return undefined;
  const want = line.subarray(0, 8).toString('latin1');
  if (!/^[0-9a-f]{8}$/.test(want)) return undefined;
  const body = line.subarray(9);
  return crc32(body) === Number.parseInt(want, 16) ? body.toString('utf8') : undefined;
}

function readSnapshot(path: string): { data: Record<string, unknown>; generation: number } | undefined {
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
    throw untouched(`emulator state file ${path}`, `is damaged (not valid JSON: ${(err as Error).message})`);
  }
  if (!isRecord(data)) throw untouched(`emulator state file ${path}`, 'is damaged (not a JSON object)');
  if (data.version === 1) return { data: withoutReserved(data), generation: 0 };
  if (data.version !== STATE_FILE_VERSION) {
    throw untouched(
      `emulator state file ${path}`,
      `has version ${data.version === undefined ? 'undefined' : JSON.stringify(data.version)}, expected 1 or ${STATE_FILE_VERSION}`,
    );
  }
  const generation = data.generation;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    throw untouched(`emulator state file ${path}`, 'is damaged (no valid generation)');
  }
  return { data: withoutReserved(data), generation };
}

/**
 * The changes of the log at `logPath` if it continues the snapshot of `generation`; none when it
 * is missing, empty or older (a compaction renamed its snapshot, then stopped before it replaced
 * the log: the snapshot holds every change of the old log). A record cut short at the end (a
 * crash during its append, which therefore was never acknowledged) is ignored; any other damage
 * is an error, and so is a log newer than its snapshot.
 */
function readLog(logPath: string, statePath: string, generation: number | undefined): unknown[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(logPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`emulator state log ${logPath} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (bytes.length === 0) return [];
  const damaged = (what: string): Error => untouched(`emulator state log ${logPath}`, `is damaged (${what})`);
  const lines: Buffer[] = [];
  let tail: Buffer | undefined;
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) {
      tail = bytes.subarray(start);
      break;
    }
    lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  // The header is written before the log is renamed into place: it is never cut short.
  const headerText = lines[0] === undefined ? undefined : unframe(lines[0]);
  let header: unknown;
  try {
    header = headerText === undefined ? undefined : JSON.parse(headerText);
  } catch {
    header = undefined;
  }
  if (!isRecord(header) || header.version !== STATE_FILE_VERSION || !Number.isSafeInteger(header.generation)) {
    throw damaged('no valid header');
  }
  const logGeneration = header.generation as number;
  if (generation === undefined) {
    throw untouched(
      `emulator state log ${logPath}`,
      `has no state file (${statePath} is missing): restore the state file, or delete the log`,
    );
  }
  if (logGeneration < generation) return [];
  if (logGeneration > generation) {
    throw untouched(
      `emulator state log ${logPath}`,
      `continues a later state file (generation ${String(logGeneration)}) than ${statePath} ` +
        `(generation ${String(generation)}): restore that state file, or delete the log`,
    );
  }
  const texts: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const text = unframe(lines[i] as Buffer);
    if (text !== undefined) {
      texts.push(text);
      continue;
    }
    // Only the last append can be cut short: nothing follows it.
    if (i === lines.length - 1 && tail === undefined) break;
    throw damaged(`record ${String(i)} fails its checksum, and more follows it`);
  }
  const changes: unknown[] = [];
  for (const [i, text] of texts.entries()) {
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch {
      throw damaged(`record ${String(i + 1)} is not valid JSON`);
    }
    if (!isRecord(rec) || rec.n !== i + 1 || !('change' in rec)) {
      throw damaged(`record ${String(i + 1)} is out of sequence`);
    }
    changes.push(rec.change);
  }
  return changes;
}

/**
 * Reads a state file written by {@link StateFileWriter}: its snapshot and the changes in the log
 * beside it ({@link stateLogPath}). Returns `undefined` when neither exists. Never modifies either.
 * @throws Error naming the file and the problem when it cannot be read, is not JSON, has another
 *   `version`, or its log is damaged anywhere but in a last record cut short by a crash.
 */
export function readStateFile(path: string): StateFileContent | undefined {
  const snapshot = readSnapshot(path);
  const changes = readLog(stateLogPath(path), path, snapshot?.generation);
  if (snapshot === undefined) return undefined;
  return { data: snapshot.data, changes, generation: snapshot.generation };
}

/** Options of {@link StateFileWriter}. */
export interface StateFileWriterOptions {
  /**
   * The whole state, a plain object, written as `{version, generation, ...it}` when the writer
   * compacts (first write, a log past {@link logBytes}, after a failed write, at {@link close}).
   */
  readonly snapshot: () => unknown;
  /**
   * What changed since its previous call, as JSON-serialisable data (`undefined`: nothing);
   * called as each commit starts, and appended to the log as one record. Changes are read back in
   * order by {@link readStateFile}; the owner applies them to the snapshot's data.
   */
  readonly changes: () => unknown;
  /** The generation of the snapshot on disk (from {@link readStateFile}); default 0 (none). */
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
 * {@link readStateFile} ignores. Both files are created with mode 0600 (they hold signing keys).
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
