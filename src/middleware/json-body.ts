import type { RequestHandler } from 'express';
import { BrokerError } from '../errors.js';

/** Options of {@link jsonBody}. */
export interface JsonBodyOptions {
  /** Largest accepted body, in bytes. Required. */
  readonly limitBytes: number;
}

function isJsonType(header: string | undefined): boolean {
  const media = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}

/**
 * Reads a JSON request body into `req.body` without depending on Express at runtime (so the
 * package root can be imported by apps that do not use Express). Skips requests whose body an
 * app-level parser already read. A body that is not `application/json` (or `+json`) is left
 * undefined, for the route's validation to refuse.
 * Errors: `ERR_PAYLOAD_TOO_LARGE` (413) past `limitBytes`, `ERR_BAD_REQUEST` (400) for malformed
 * JSON, a non-object top level or a compressed body.
 */
export function jsonBody(options: JsonBodyOptions): RequestHandler {
  const limit = options.limitBytes;
  return (req, _res, next) => {
    if ((req as { _body?: unknown })._body === true || req.readableEnded) {
      next();
      return;
    }
    if (!isJsonType(req.headers['content-type'])) {
      next();
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      next(new BrokerError('ERR_BAD_REQUEST', 'Compressed request bodies are not accepted.'));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      next(new BrokerError('ERR_PAYLOAD_TOO_LARGE', 'The request body is too large.'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: BrokerError): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err !== undefined) {
        req.resume();
        next(err);
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown;
      try {
        parsed = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        next(new BrokerError('ERR_BAD_REQUEST', 'The request body is not valid JSON.'));
        return;
      }
      if (typeof parsed !== 'object' || parsed === null) {
        next(new BrokerError('ERR_BAD_REQUEST', 'The request body must be a JSON object.'));
        return;
      }
      (req as { body?: unknown; _body?: boolean }).body = parsed;
      (req as { _body?: boolean })._body = true;
      next();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(new BrokerError('ERR_PAYLOAD_TOO_LARGE', 'The request body is too large.'));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish();
    };
    const onError = (): void => {
      finish(new BrokerError('ERR_BAD_REQUEST', 'The request body could not be read.'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  };
}
