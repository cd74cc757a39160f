import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { redactPaths } from '../../src/broker/log.js';

/** A pino logger (with the broker's redaction paths) that writes to an in-memory array of lines. */
export function memoryLogger(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'trace', redact: [...redactPaths] }, stream);
  return { logger, lines, text: () => lines.join('') };
}
