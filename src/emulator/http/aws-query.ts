import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultController } from '../faults.js';
import type { ModelShape } from '../model/model-types.js';
import { STS_MODEL } from '../model/sts-model.js';
import { ServiceError } from '../service-error.js';
import type { CredentialRecord } from '../session-token.js';
import type { AssumeRoleWithWebIdentityInput, StsService } from '../sts/sts-service.js';
import type { ApiProtocol } from './protocol.js';
import { parseAuthorization, verifySignature } from './sigv4.js';
import { SerializationError, Validator, validationMessage } from './validate.js';

/** The content type of AWS query requests. */
const FORM = 'application/x-www-form-urlencoded';
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** The service name in the credential scope of STS requests. */
const STS_SIGNING_NAME = 'sts';

/** What the AWS query protocol needs. */
export interface AwsQueryDeps {
  readonly sts: StsService;
  /** Counts calls per operation (STS operations are counted, never faulted: its faults are Cognito's). */
  readonly faults: FaultController;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /**
   * Runs a (synchronous) STS call; its answer, result or ServiceError, comes once every change of
   * every region made until it ended is on disk (those it may have read), and a failed write
   * rejects with an error that is no ServiceError. Absent: state lives in memory only.
   */
  readonly durable?: <T>(op: () => T) => T | Promise<T>;
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** `<Name>value</Name>` for every member of `fields`, in order (nested objects become elements). */
function xmlFields(fields: Record<string, unknown>): string {
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const inner =
      typeof v === 'object' && v !== null
        ? xmlFields(v as Record<string, unknown>)
        : xmlEscape(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
    out += `<${k}>${inner}</${k}>`;
  }
  return out;
}

/** ISO 8601 without milliseconds, as STS writes timestamps. */
function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sendXml(res: ServerResponse, status: number, body: string, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}

/** STS's XML error: `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>…`. */
export function sendQueryError(res: ServerResponse, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  const type = status >= 500 ? 'Receiver' : 'Sender';
  const body =
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  sendXml(res, status, body, requestId);
}

function sendResult(res: ServerResponse, action: string, result: Record<string, unknown>): void {
  const requestId = randomUUID();
  const body =
    `<${action}Response xmlns="${XMLNS}"><${action}Result>${xmlFields(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  sendXml(res, 200, body, requestId);
}

/**
 * The input structure of `shapeName` from query parameters under `prefix`: scalars by name, lists as
 * `Name.member.N[.Sub]`, integers parsed (a non-integer is a SerializationError).
 */
function decode(
  shapes: Readonly<Record<string, ModelShape>>,
  shapeName: string,
  params: URLSearchParams,
  prefix: string,
): unknown {
  const s = shapes[shapeName];
  if (s === undefined) return undefined;
  if (s.type === 'structure') {
    const out: Record<string, unknown> = {};
    for (const [member, memberShape] of Object.entries(s.members ?? {})) {
      const v = decode(shapes, memberShape, params, `${prefix}${member}`);
      if (v !== undefined) out[member] = v;
    }
    return out;
  }
  if (s.type === 'list') {
    const items: unknown[] = [];
    const memberShape = shapes[s.member ?? ''];
    for (let i = 1; i <= 1000; i++) {
      const p = `${prefix}.member.${i}`;
      const v = decode(shapes, s.member ?? '', params, memberShape?.type === 'structure' ? `${p}.` : p);
      const present = memberShape?.type === 'structure' ? Object.keys(v as object).length > 0 : v !== undefined;
      if (!present) break;
      items.push(v);
    }
    if (items.length === 0) return params.has(prefix) ? [] : undefined;
    return items;
  }
  const raw = params.get(prefix);
  if (raw === null) return undefined;
  if (s.type === 'integer' || s.type === 'long') {
    if (!/^-?\d{1,15}$/.test(raw)) throw new SerializationError(`Value '${raw}' is not an integer.`);
    return Number(raw);
  }
  if (s.type === 'boolean') return raw === 'true';
  return raw;
}

/**
 * The AWS query protocol of STS at `POST /` (form-encoded `Action=…&Version=2011-06-15`, XML answers
 * and errors), for AssumeRoleWithWebIdentity (unsigned) and GetCallerIdentity (SigV4 with the
 * emulator's temporary credentials, verified). It claims form-encoded requests without
 * `X-Amz-Target`, so AWS JSON 1.1 keeps everything else.
 */
export function awsQueryProtocol(deps: AwsQueryDeps): ApiProtocol {
  const validator = new Validator(STS_MODEL);

  /** The caller of a signed request; throws STS's authentication errors. */
  const authenticate = (req: IncomingMessage, body: Buffer): CredentialRecord => {
    const raw = req.headers.authorization;
    const auth = typeof raw === 'string' ? parseAuthorization(raw) : undefined;
    if (auth === undefined || auth.terminator !== 'aws4_request') {
      throw new ServiceError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    }
    if (auth.service !== STS_SIGNING_NAME) {
      throw new ServiceError(
        'SignatureDoesNotMatch',
        `Credential should be scoped to correct service: '${STS_SIGNING_NAME}'.`,
        403,
      );
    }
    const token = req.headers['x-amz-security-token'];
    const { record, secretAccessKey } = deps.sts.credentialsFor(
      auth.accessKeyId,
      typeof token === 'string' ? token : undefined,
    );
    const check = verifySignature(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      auth,
      secretAccessKey,
      deps.now(),
    );
    if (!check.ok) {
      if (check.kind === 'incomplete') throw new ServiceError('IncompleteSignature', check.message, 400);
      throw new ServiceError('SignatureDoesNotMatch', check.message, 403);
    }
    return record;
  };

  const run = (
    action: string,
    req: IncomingMessage,
    body: Buffer,
    params: URLSearchParams,
  ): Record<string, unknown> => {
    const op = STS_MODEL.operations[action];
    if (op === undefined) throw new Error(`unserved operation ${action}`);
    const caller = op.public ? undefined : authenticate(req, body);
    let input: unknown = {};
    if (op.input !== null) {
      try {
        input = decode(STS_MODEL.shapes, op.input, params, '');
        const errors = validator.validate(op.input, input);
        if (errors.length > 0) throw new ServiceError('ValidationError', validationMessage(errors), 400);
      } catch (err) {
        if (err instanceof SerializationError) throw new ServiceError('ValidationError', err.message, 400);
        throw err;
      }
    }
    if (action === 'GetCallerIdentity' && caller !== undefined) {
      return { ...deps.sts.getCallerIdentity(caller) };
    }
    // The one cast from wire to type: the validator has checked the input against the model.
    const out = deps.sts.assumeRoleWithWebIdentity(input as AssumeRoleWithWebIdentityInput);
    return {
      Credentials: {
        AccessKeyId: out.Credentials.AccessKeyId,
        SecretAccessKey: out.Credentials.SecretKey,
        SessionToken: out.Credentials.SessionToken,
        Expiration: isoSeconds(out.Credentials.Expiration),
      },
      SubjectFromWebIdentityToken: out.SubjectFromWebIdentityToken,
      AssumedRoleUser: out.AssumedRoleUser,
      PackedPolicySize: out.PackedPolicySize,
      Provider: out.Provider,
      Audience: out.Audience,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const q = (req.url ?? '/').indexOf('?');
    const params = new URLSearchParams(body.toString('utf8'));
    if (q >= 0) {
      for (const [k, v] of new URLSearchParams((req.url ?? '').slice(q + 1))) if (!params.has(k)) params.set(k, v);
    }
    const action = params.get('Action');
    const version = params.get('Version');
    if (action === null || action === '') {
      sendQueryError(res, 400, 'MissingAction', 'Missing Action');
      return;
    }
    if (version !== STS_MODEL.apiVersion || !Object.hasOwn(STS_MODEL.operations, action)) {
      sendQueryError(
        res,
        400,
        'InvalidAction',
        `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
      );
      return;
    }
    deps.faults.count(action);
    const call = (): Record<string, unknown> => run(action, req, body, params);
    let out: Record<string, unknown> | Promise<Record<string, unknown>>;
    try {
      out = deps.durable === undefined ? call() : deps.durable(call);
      if (out instanceof Promise) {
        try {
          out = await out;
        } catch (err) {
          if (err instanceof ServiceError) throw err;
          // A change this call read was refused by the disk (the state went back to what is on it).
          throw new ServiceError(
            'InternalFailure',
            `The state it read could not be saved: ${(err as Error).message}`,
            500,
          );
        }
      }
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      sendQueryError(res, err.status, err.type, err.message);
      return;
    }
    sendResult(res, action, out);
  };

  return {
    name: 'awsQuery',
    accepts: (req) => {
      if (req.headers['x-amz-target'] !== undefined) return false;
      const ct = req.headers['content-type'];
      return typeof ct === 'string' && ct.split(';')[0]?.trim().toLowerCase() === FORM;
    },
    handle,
  };
}
