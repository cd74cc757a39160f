import type { IncomingMessage, ServerResponse } from 'node:http';
import { awsJsonProtocol, type AwsJsonDeps } from './aws-json.js';
import type { ApiProtocol } from './protocol.js';
import { readBody, send, sendError } from './respond.js';

export type { ApiProtocol } from './protocol.js';

export { sendError } from './respond.js';

/** The largest request body accepted (the largest valid request, 10 logins of 50,000 chars, is ~500 KB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the request handler needs. */
export interface ServerDeps extends AwsJsonDeps {
  /** The JWKS served at `/.well-known/jwks_uri`. */
  readonly jwks: () => unknown;
  /** The `iss` of the emulator's tokens, served in the discovery document. */
  readonly issuer: string;
  /** Handles `/__emulator/*`; when absent those paths are 404. */
  readonly control?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Protocols tried, in order, before AWS JSON 1.1 (which answers everything else at `POST /`). */
  readonly protocols?: readonly ApiProtocol[];
}

function hostOf(req: IncomingMessage, fallback: string): string {
  const h = req.headers.host;
  return typeof h === 'string' && /^[\w.:[\]-]+$/.test(h) ? `http://${h}` : fallback;
}

/**
 * Builds the node:http request listener of the emulator: the API protocols at `POST /`, the JWKS and
 * OpenID discovery documents, and the control endpoint. Every failure is a JSON error; the listener
 * never throws.
 */
export function createRequestHandler(
  deps: ServerDeps,
  endpoint: () => string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const protocols: readonly ApiProtocol[] = [...(deps.protocols ?? []), awsJsonProtocol(deps)];

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
    // The last protocol accepts every request, so one is always found.
    const protocol = protocols.find((p) => p.accepts(req)) ?? protocols[protocols.length - 1];
    await protocol?.handle(req, res, body);
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
