import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultController } from './faults.js';
import { MODEL } from './model.js';
import type { CognitoIdentityService } from './service.js';
import { ServiceError } from './service-error.js';
import { checkSigV4 } from './sigv4.js';
import type { EmulatorCredentials } from './types.js';
import { SerializationError, Validator, validationMessage } from './validate.js';

/** The largest request body accepted (the largest valid request, 10 logins of 50,000 chars, is ~500 KB). */
export const MAX_BODY_BYTES = 1024 * 1024;

const JSON_11 = 'application/x-amz-json-1.1';
const TARGET_PREFIX = `${MODEL.targetPrefix}.`;

/** What the request handler needs. */
export interface ServerDeps {
  readonly service: CognitoIdentityService;
  readonly faults: FaultController;
  readonly validator?: Validator;
  /** Verify SigV4 signatures against these keys (else only the header's presence and form). */
  readonly strictSigV4?: readonly EmulatorCredentials[];
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** The JWKS served at `/.well-known/jwks_uri`. */
  readonly jwks: () => unknown;
  /** The `iss` of the emulator's tokens, served in the discovery document. */
  readonly issuer: string;
  /** Handles `/__emulator/*`; when absent those paths are 404. */
  readonly control?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

interface OperationInfo {
  readonly name: string;
  readonly input: string | null;
  readonly public: boolean;
}

function send(
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
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
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

function hostOf(req: IncomingMessage, fallback: string): string {
  const h = req.headers.host;
  return typeof h === 'string' && /^[\w.:[\]-]+$/.test(h) ? `http://${h}` : fallback;
}

/**
 * Builds the node:http request listener of the emulator: AWS JSON 1.1 at `POST /`, the JWKS and
 * OpenID discovery documents, and the control endpoint. Every failure is a JSON error; the listener
 * never throws.
 */
export function createRequestHandler(
  deps: ServerDeps,
  endpoint: () => string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const validator = deps.validator ?? new Validator();
  const operations = new Map<string, OperationInfo>();
  for (const [name, op] of Object.entries(MODEL.operations)) {
    operations.set(`${TARGET_PREFIX}${name}`, { name, input: op.input, public: op.public });
  }

  const handleApi = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      sendError(res, 413, 'RequestEntityTooLargeException', `Request body exceeds ${MAX_BODY_BYTES} bytes.`, {
        connection: 'close',
      });
      return;
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      sendError(res, 413, 'RequestEntityTooLargeException', `Request body exceeds ${MAX_BODY_BYTES} bytes.`, {
        connection: 'close',
      });
      return;
    }
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' ? operations.get(target) : undefined;
    if (op === undefined) {
      sendError(
        res,
        400,
        'UnknownOperationException',
        typeof target === 'string' ? `Unknown operation ${target}` : 'Missing X-Amz-Target header',
      );
      return;
    }
    const ct = req.headers['content-type'];
    if (typeof ct !== 'string' || ct.split(';')[0]?.trim().toLowerCase() !== JSON_11) {
      sendError(res, 400, 'SerializationException', `Unsupported Content-Type '${ct ?? ''}': expected ${JSON_11}.`);
      return;
    }
    // AWS authenticates before it throttles or fails a call: an unsigned call never uses up the
    // throttle budget nor sees an injected fault.
    if (!op.public) {
      const auth = checkSigV4(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
        deps.strictSigV4,
        deps.now(),
      );
      if (!auth.ok) {
        deps.faults.count(op.name);
        sendError(res, 400, auth.type, auth.message);
        return;
      }
    }
    const fault = await deps.faults.apply(op.name, deps.now());
    if (fault !== null) {
      sendError(res, fault.status, fault.type, fault.message);
      return;
    }
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      sendError(res, 400, 'SerializationException', 'The request body is not valid JSON.');
      return;
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      sendError(res, 400, 'SerializationException', 'The request body must be a JSON object.');
      return;
    }
    if (op.input !== null) {
      let errors: string[];
      try {
        errors = validator.validate(op.input, input);
      } catch (err) {
        if (err instanceof SerializationError) {
          sendError(res, 400, 'SerializationException', err.message);
          return;
        }
        throw err;
      }
      if (errors.length > 0) {
        sendError(res, 400, 'ValidationException', validationMessage(errors));
        return;
      }
    }
    const handler = deps.service.handlers[op.name];
    if (handler === undefined) {
      sendError(res, 400, 'UnknownOperationException', `Unknown operation ${op.name}`);
      return;
    }
    let output: unknown;
    try {
      output = handler(input as Record<string, unknown>);
    } catch (err) {
      if (err instanceof ServiceError) {
        sendError(res, err.status, err.type, err.message);
        return;
      }
      throw err;
    }
    send(res, 200, JSON.stringify(output ?? {}), JSON_11);
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let work: Promise<void>;
    if (path === '/' && req.method === 'POST') {
      work = handleApi(req, res);
    } else if (path.startsWith('/__emulator/') && deps.control !== undefined) {
      work = deps.control(req, res);
    } else if (req.method === 'GET' && path === '/.well-known/jwks_uri') {
      send(res, 200, JSON.stringify(deps.jwks()), 'application/json');
      return;
    } else if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      const base = hostOf(req, endpoint());
      const doc = {
        issuer: deps.issuer,
        jwks_uri: `${base}/.well-known/jwks_uri`,
        authorization_endpoint: `${base}/authorize`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS512'],
        claims_supported: ['sub', 'aud', 'amr', 'iss', 'exp', 'iat'],
      };
      send(res, 200, JSON.stringify(doc), 'application/json');
      return;
    } else if (path === '/') {
      sendError(
        res,
        400,
        'UnknownOperationException',
        `${req.method ?? 'GET'} is not supported: send POST / with X-Amz-Target.`,
      );
      return;
    } else {
      sendError(res, 404, 'UnknownOperationException', `No route for ${req.method ?? 'GET'} ${path}.`);
      return;
    }
    work.catch((err: unknown) => {
      sendError(
        res,
        500,
        'InternalErrorException',
        err instanceof Error ? `Internal error: ${err.message}` : 'Internal error',
      );
    });
  };
}
