import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultSpec, PoolInfo } from '../types.js';

/** The path prefix of the control endpoint. */
export const CONTROL_PREFIX = '/__emulator/';

/** Largest request body the control endpoint reads. */
export const CONTROL_BODY_LIMIT = 16 * 1024;

/** What the control endpoint needs from a running emulator. */
export interface ControlApi {
  counters(): Record<string, number>;
  resetCounters(): void;
  /** @throws TypeError on an invalid spec (answered with 400). */
  setFault(op: string, spec: FaultSpec | null): void;
  clearFaults(): void;
  /** @throws Error when the provider is not configured on any pool (answered with 400). */
  mintProviderToken(provider: string, subject: string, opts?: { expiresInSeconds?: number }): string;
  pools(): readonly PoolInfo[];
}

/** A field's rule: why a value is wrong, or undefined when it is right. */
type Check = (value: unknown) => string | undefined;
const number =
  (min: number, max: number, integer = false): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))
      ? undefined
      : `must be ${integer ? 'an integer' : 'a number'} from ${String(min)} to ${String(max)}`;
const text =
  (max: number): Check =>
  (v) =>
    typeof v === 'string' && v.length >= 1 && v.length <= max
      ? undefined
      : `must be a string of 1 to ${String(max)} characters`;
const faultSpecFields: Record<string, Check> = {
  throttleRps: number(0, Number.MAX_VALUE),
  latencyMs: number(0, Number.MAX_VALUE),
  error: text(128),
  count: number(0, Number.MAX_SAFE_INTEGER, true),
  rate: number(0, 1),
};
const providerTokenFields: Record<string, Check> = {
  provider: text(128),
  subject: text(128),
  expiresInSeconds: number(1, 366 * 86_400, true),
};
const OPERATION = /^(\*|[A-Za-z]{1,64})$/;

class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Loopback peers only: 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Whether a `Host` header names this machine's loopback (`localhost`, `*.localhost`, 127.0.0.0/8,
 * `[::1]`), with an optional port. A page served from another name that resolves to 127.0.0.1 (DNS
 * rebinding) sends its own name, and is refused.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined || host.length > 260) return false;
  let name: string;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    const rest = host.slice(end + 1);
    if (end < 0 || (rest !== '' && !/^:\d{1,5}$/.test(rest))) return false;
    name = host.slice(1, end).toLowerCase();
    return name === '::1' || (name.startsWith('::ffff:') && isLoopback(name));
  }
  const colon = host.indexOf(':');
  name = (colon < 0 ? host : host.slice(0, colon)).toLowerCase().replace(/\.$/, '');
  if (colon >= 0 && !/^\d{1,5}$/.test(host.slice(colon + 1))) return false;
  if (name === 'localhost' || name.endsWith('.localhost')) return /^[a-z0-9.-]+$/.test(name);
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) && name.split('.').every((o) => Number(o) <= 255);
}

/** Whether the request declares a JSON body (`application/json`, parameters allowed). */
function isJson(req: IncomingMessage): boolean {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' && ct.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader('cache-control', 'no-store');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > CONTROL_BODY_LIMIT) {
    req.resume();
    throw new ControlError(413, 'PayloadTooLarge', `The body exceeds ${CONTROL_BODY_LIMIT} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > CONTROL_BODY_LIMIT) {
      throw new ControlError(413, 'PayloadTooLarge', `The body exceeds ${CONTROL_BODY_LIMIT} bytes.`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ControlError(400, 'SerializationException', 'The body is not valid JSON.');
  }
}

/** Checks a JSON object's fields (all optional unless `required`); unknown fields are refused. */
function parse(fields: Record<string, Check>, data: unknown, required: readonly string[] = []): object {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ControlError(400, 'ValidationException', 'The body must be a JSON object.');
  }
  const record = data as Record<string, unknown>;
  const detail = Object.keys(record)
    .filter((key) => !Object.hasOwn(fields, key))
    .map((key) => `${key.slice(0, 64)}: unrecognized field`);
  for (const [key, check] of Object.entries(fields)) {
    const value = record[key];
    const why = value === undefined ? (required.includes(key) ? 'required' : undefined) : check(value);
    if (why !== undefined) detail.push(`${key}: ${why}`);
  }
  if (detail.length > 0) throw new ControlError(400, 'ValidationException', detail.join('; '));
  return record;
}

function methodNotAllowed(allow: string): never {
  throw new ControlError(405, 'MethodNotAllowed', `Use ${allow}.`);
}

/**
 * Serves the emulator's control endpoint (paths under `/__emulator/`), for loopback peers only:
 *
 * | request | answer |
 * |---|---|
 * | `GET /__emulator/counters` | `{ "<Operation>": calls, … }` |
 * | `POST /__emulator/counters/reset` | 204 |
 * | `PUT /__emulator/faults/<op or *>` with a JSON {@link FaultSpec} | `{ operation, fault }` |
 * | `DELETE /__emulator/faults/<op or *>` | 204 |
 * | `DELETE /__emulator/faults` | 204 |
 * | `POST /__emulator/provider-token` `{ provider, subject, expiresInSeconds? }` | `{ token }` |
 * | `GET /__emulator/pools` | `{ pools: PoolInfo[] }` |
 *
 * Only loopback peers that name a loopback host (`Host: localhost`, `127.0.0.1` or `[::1]`, any
 * port) are answered; every POST and PUT must say `Content-Type: application/json`, which no
 * cross-site page can send without a CORS preflight (and the endpoint answers none).
 *
 * Errors are JSON `{ __type, message }`: 403 for other peers or hosts, 415 for another content type,
 * 400 for bad bodies, 404, 405, 413. Never rejects.
 */
export async function handleControl(req: IncomingMessage, res: ServerResponse, api: ControlApi): Promise<void> {
  try {
    if (!isLoopback(req.socket.remoteAddress)) {
      req.resume();
      throw new ControlError(403, 'AccessDeniedException', 'The control endpoint only answers loopback clients.');
    }
    if (!isLoopbackHost(req.headers.host)) {
      req.resume();
      throw new ControlError(
        403,
        'AccessDeniedException',
        'The control endpoint only answers requests for a loopback host (localhost, 127.0.0.1 or [::1]).',
      );
    }
    if ((req.method === 'POST' || req.method === 'PUT') && !isJson(req)) {
      req.resume();
      throw new ControlError(
        415,
        'UnsupportedMediaTypeException',
        'The control endpoint needs Content-Type: application/json on POST and PUT.',
      );
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.startsWith(CONTROL_PREFIX) ? url.pathname.slice(CONTROL_PREFIX.length) : undefined;
    const method = req.method ?? 'GET';
    if (path === 'counters') {
      if (method !== 'GET') methodNotAllowed('GET');
      send(res, 200, api.counters());
    } else if (path === 'counters/reset') {
      if (method !== 'POST') methodNotAllowed('POST');
      api.resetCounters();
      send(res, 204);
    } else if (path === 'faults') {
      if (method !== 'DELETE') methodNotAllowed('DELETE');
      api.clearFaults();
      send(res, 204);
    } else if (path?.startsWith('faults/')) {
      let op: string;
      try {
        op = decodeURIComponent(path.slice('faults/'.length));
      } catch {
        op = '';
      }
      if (!OPERATION.test(op)) {
        throw new ControlError(400, 'ValidationException', 'The operation must be an operation name or "*".');
      }
      if (method === 'PUT') {
        const spec = parse(faultSpecFields, await readJson(req)) as FaultSpec;
        try {
          api.setFault(op, spec);
        } catch (err) {
          throw new ControlError(400, 'ValidationException', (err as Error).message);
        }
        send(res, 200, { operation: op, fault: spec });
      } else if (method === 'DELETE') {
        api.setFault(op, null);
        send(res, 204);
      } else {
        methodNotAllowed('PUT or DELETE');
      }
    } else if (path === 'provider-token') {
      if (method !== 'POST') methodNotAllowed('POST');
      const body = parse(providerTokenFields, await readJson(req), ['provider', 'subject']) as {
        provider: string;
        subject: string;
        expiresInSeconds?: number;
      };
      let token: string;
      try {
        token = api.mintProviderToken(
          body.provider,
          body.subject,
          body.expiresInSeconds === undefined ? undefined : { expiresInSeconds: body.expiresInSeconds },
        );
      } catch (err) {
        throw new ControlError(400, 'InvalidParameterException', (err as Error).message);
      }
      send(res, 200, { token });
    } else if (path === 'pools') {
      if (method !== 'GET') methodNotAllowed('GET');
      send(res, 200, { pools: api.pools() });
    } else {
      throw new ControlError(404, 'NotFound', `No control route ${url.pathname}.`);
    }
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e =
      err instanceof ControlError
        ? err
        : new ControlError(500, 'InternalErrorException', 'The control request failed.');
    // Stop reading a body we refused, and close the connection so it cannot keep streaming.
    send(res, e.status, { __type: e.type, message: e.message }, e.status === 413 ? { connection: 'close' } : {});
  }
}
