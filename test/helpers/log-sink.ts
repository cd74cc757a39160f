// The one in-memory log of the test suites: pino's `sink()` pattern, a logger writing into an array.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { redactPaths } from '../../src/index.js';

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger at level `trace` whose output stays in memory for the test to read. */
export interface LogSink {
  readonly logger: Logger;
  /** The raw NDJSON chunks, in order. */
  readonly raw: string[];
  /** Everything written, as one string (what a leak check searches). */
  readonly text: () => string;
  /** Characters held (test memory, not the product's). */
  readonly chars: () => number;
  /** Parsed lines. */
  readonly lines: () => LogLine[];
  /** Parsed lines with this `msg`. */
  readonly withMsg: (msg: string) => LogLine[];
  /**
   * Resolves once `condition()` holds, checked now and after each line written: a wait on what the
   * code under test reports (the broker logs the end of every Cognito call), not on elapsed time.
   */
  readonly until: (condition: () => boolean) => Promise<void>;
}

export interface LogSinkOptions {
  /**
   * Applies the package's `redactPaths`, as an app that follows the README does. Off by default:
   * tests of the broker must see what the broker really writes.
   */
  readonly redact?: boolean;
}

/** A logger writing into memory; see {@link LogSink}. */
export function logSink(options: LogSinkOptions = {}): LogSink {
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString('utf8'));
      // After the turn that wrote the line: its writer has finished what it does after logging.
      if (waiters.size > 0)
        setImmediate(() => {
          for (const w of [...waiters]) w();
        });
      callback();
    },
  });
  const logger = pino({ level: 'trace', ...(options.redact === true ? { redact: [...redactPaths] } : {}) }, stream);
  const lines = (): LogLine[] =>
    raw.flatMap((chunk) => chunk.split('\n').filter((l) => l.length > 0)).map((l) => JSON.parse(l) as LogLine);
  return {
    logger,
    raw,
    text: () => raw.join(''),
    chars: () => raw.reduce((n, chunk) => n + chunk.length, 0),
    lines,
    withMsg: (msg) => lines().filter((l) => l.msg === msg),
    until: (condition) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!condition()) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
  };
}
