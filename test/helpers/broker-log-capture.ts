import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger (level `trace`, no redaction: tests must see what the broker really writes). */
export interface LogCapture {
  readonly logger: Logger;
  /** The raw NDJSON lines, in order. */
  readonly raw: string[];
  /** Parsed lines. */
  lines(): LogLine[];
  /** Parsed lines with this `msg`. */
  withMsg(msg: string): LogLine[];
  /** The secrets among `secrets` that occur anywhere in the captured text (should be empty). */
  leaked(secrets: readonly string[]): string[];
}

/** pino's `sink()` pattern: a logger writing into an in-memory array. */
export function captureLogs(): LogCapture {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = pino({ level: 'trace' }, stream);
  const lines = (): LogLine[] =>
    raw.flatMap((chunk) => chunk.split('\n').filter((l) => l.length > 0)).map((l) => JSON.parse(l) as LogLine);
  return {
    logger,
    raw,
    lines,
    withMsg: (msg) => lines().filter((l) => l.msg === msg),
    leaked: (secrets) => {
      const text = raw.join('');
      return secrets.filter((s) => s.length > 0 && text.includes(s));
    },
  };
}
