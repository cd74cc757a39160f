import type { Response } from 'express';

/**
 * Sends `body` (JSON text or its UTF-8 bytes) with status 200 and `Cache-Control: no-store`, straight
 * through Node's response: no ETag (a response that must not be stored has nothing to revalidate, and
 * an `If-None-Match` must never turn credentials into an empty 304), no serialisation, no charset
 * parsing. A HEAD request gets the headers only (Node drops the body).
 */
export function sendNoStoreJson(res: Response, body: string | Uint8Array): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength);
  res.end(body);
}
