import { readFileSync } from 'node:fs';
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

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The data without the snapshot's own bookkeeping (`version`, `generation`), which it cannot use. */
export function withoutReserved(data: Record<string, unknown>): Record<string, unknown> {
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
export function frame(json: string): Buffer {
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
 * the log: the snapshot holds every change of the old log). A record cut short at the end, before
 * its newline (a crash during its append, which therefore was never acknowledged), is ignored; any
 * other damage is an error (a complete last line that fails its checksum included: a crash cannot
 * write one), and so is a log newer than its snapshot.
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
    // A crash cuts the last append short, before its newline (the `tail`, ignored); a complete
    // line that fails its checksum is damage, wherever it is: an acknowledged change is in it.
    throw damaged(
      `record ${String(i)} fails its checksum${i === lines.length - 1 && tail === undefined ? '' : ', and more follows it'}`,
    );
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
 * Reads a state file written by `StateFileWriter` (`state-file-writer.ts`): its snapshot and the changes in the log
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
