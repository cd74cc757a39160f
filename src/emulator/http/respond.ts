import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The content type of AWS JSON 1.1 requests and responses. */
export const JSON_11 = 'application/x-amz-json-1.1';

/** Sends a complete response with a fresh `x-amzn-RequestId`. */
export function send(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  extra?: Record<string, string>,
): void {
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
    ...extra,
  };
  res.writeHead(status, headers);
  res.end(body);
}

/** Sends the service's JSON error: `{"__type", "message"}` and `x-amzn-ErrorType`. */
export function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, status, JSON.stringify({ __type: type, message }), JSON_11, { 'x-amzn-errortype': type, ...extra });
}

/** Reads the body up to `limit` bytes; resolves undefined when it is larger. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
      }
    });
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}
