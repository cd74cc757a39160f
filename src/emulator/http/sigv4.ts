import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EmulatorCredentials } from '../types.js';

/** The parts of an HTTP request that SigV4 covers. `url` is the raw request target (`/path?query`). */
export interface SignedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Outcome of {@link checkSigV4}: `region` is the credential scope's (the region the call is for);
 * `type` and `message` are the error to answer with.
 */
export type SigV4Result = { ok: true; region: string } | { ok: false; type: string; message: string };

/** The service name in the credential scope. */
export const SIGV4_SERVICE = 'cognito-identity';
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far the signing time may be from the server's clock, as AWS allows. */
const MAX_SKEW_MS = 5 * 60 * 1000;

const MISSING: SigV4Result = {
  ok: false,
  type: 'MissingAuthenticationTokenException',
  message: 'Missing Authentication Token',
};

/** The parts of a SigV4 `Authorization` header. */
export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/cognito-identity/aws4_request,
 * SignedHeaders=host;x-amz-date, Signature=<hex>`. Returns undefined unless every part is present.
 */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  if (header.length > 8192 || !header.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) return undefined;
  const scope = credential.split('/');
  if (scope.length !== 5) return undefined;
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service || !terminator) return undefined;
  if (!/^[0-9a-f]{64}$/.test(signature)) return undefined;
  const names = signedHeaders.split(';');
  if (names.some((n) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n))) return undefined;
  return { accessKeyId, date, region, service, terminator, signedHeaders: names, signature };
}

/** RFC 3986 encoding, as SigV4 asks (every byte but unreserved characters). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** The canonical URI: the path as sent, normalised, then encoded once more (every service but S3). */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const normalised = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalised).replace(/%2F/g, '/');
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    if (key.toLowerCase() === 'x-amz-signature') continue;
    pairs.push([uriEncode(key), uriEncode(value)]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20150830T123600Z` → epoch ms, or NaN. */
function parseAmzDate(v: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * Outcome of {@link verifySignature}, by kind, so that each protocol answers with its own error names:
 * `incomplete` (a required part is missing or malformed), `skew` (the signing time is more than five
 * minutes from the server's clock, or does not match the scope date) and `mismatch`.
 */
export type SignatureCheck = { ok: true } | { ok: false; kind: 'incomplete' | 'skew' | 'mismatch'; message: string };

/** Header values that are secrets: shown redacted in the canonical request of an error message. */
const SECRET_HEADERS = new Set(['x-amz-security-token']);

/**
 * Verifies a request's SigV4 signature made with `secretAccessKey`: `host` among the signed headers,
 * the signing time (`X-Amz-Date`, else `Date`) within five minutes of `nowMs` and on the scope date,
 * and the signature equal to the one computed from the canonical request. The mismatch message shows
 * the canonical request and string to sign, as AWS does, with the session token redacted. Never throws.
 */
export function verifySignature(
  req: SignedRequest,
  auth: ParsedAuthorization,
  secretAccessKey: string,
  nowMs: number,
): SignatureCheck {
  if (!auth.signedHeaders.includes('host')) {
    return {
      ok: false,
      kind: 'incomplete',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }
  const amzDate = headerValue(req.headers, 'x-amz-date');
  const httpDate = headerValue(req.headers, 'date');
  let signedAt: number;
  let longDate: string;
  if (amzDate !== undefined) {
    signedAt = parseAmzDate(amzDate);
    longDate = amzDate;
  } else if (httpDate !== undefined) {
    signedAt = Date.parse(httpDate);
    longDate = Number.isNaN(signedAt) ? '' : formatAmzDate(signedAt);
  } else {
    return {
      ok: false,
      kind: 'incomplete',
      message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  }
  if (Number.isNaN(signedAt)) {
    return {
      ok: false,
      kind: 'incomplete',
      message: `Date must be in ISO-8601 'basic format'. Got '${amzDate ?? httpDate ?? ''}'.`,
    };
  }
  const now = formatAmzDate(nowMs);
  if (signedAt < nowMs - MAX_SKEW_MS) {
    return {
      ok: false,
      kind: 'skew',
      message: `Signature expired: ${longDate} is now earlier than ${formatAmzDate(nowMs - MAX_SKEW_MS)} (${now} - 5 min.)`,
    };
  }
  if (signedAt > nowMs + MAX_SKEW_MS) {
    return {
      ok: false,
      kind: 'skew',
      message: `Signature not yet current: ${longDate} is still later than ${formatAmzDate(nowMs + MAX_SKEW_MS)} (${now} + 5 min.)`,
    };
  }
  if (longDate.slice(0, 8) !== auth.date) {
    return {
      ok: false,
      kind: 'skew',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${longDate.slice(0, 8)}', from '${longDate}'.`,
    };
  }

  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  const headerLines: string[] = [];
  const shownLines: string[] = [];
  for (const name of auth.signedHeaders) {
    const line = `${name}:${headerValue(req.headers, name) ?? ''}`;
    headerLines.push(line);
    shownLines.push(SECRET_HEADERS.has(name) ? `${name}:<redacted>` : line);
  }
  const head = [req.method.toUpperCase(), canonicalPath(rawPath), canonicalQuery(rawQuery)];
  const tail = [auth.signedHeaders.join(';'), sha256Hex(req.body)];
  const canonicalRequest = [...head, `${headerLines.join('\n')}\n`, ...tail].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/${auth.terminator}`;
  const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const kDate = hmac(`AWS4${secretAccessKey}`, auth.date);
  const kRegion = hmac(kDate, auth.region);
  const kService = hmac(kRegion, auth.service);
  const kSigning = hmac(kService, 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  const shown = [...head, `${shownLines.join('\n')}\n`, ...tail].join('\n');
  return {
    ok: false,
    kind: 'mismatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n' +
      `The Canonical String for this request should have been\n'${shown}'\n\n` +
      `The String-to-Sign should have been\n'${stringToSign}'\n`,
  };
}

/**
 * Checks a request's SigV4 `Authorization` header the way Cognito Identity does for developer
 * operations.
 *
 * Without `strict`, only the header's presence and form are checked (credential scope ending in
 * `/cognito-identity/aws4_request`, `SignedHeaders`, a hex `Signature`): otherwise
 * `MissingAuthenticationTokenException`. With `strict`, the access key must be one of them
 * (`UnrecognizedClientException`), and {@link verifySignature} must pass
 * (`IncompleteSignatureException` or `InvalidSignatureException`). Never throws.
 */
export function checkSigV4(
  req: SignedRequest,
  strict: readonly EmulatorCredentials[] | undefined,
  nowMs: number,
): SigV4Result {
  const raw = req.headers.authorization;
  if (typeof raw !== 'string') return MISSING;
  const auth = parseAuthorization(raw);
  if (!auth || auth.service !== SIGV4_SERVICE || auth.terminator !== 'aws4_request') return MISSING;
  if (!strict) return { ok: true, region: auth.region };

  const creds = strict.find((c) => c.accessKeyId === auth.accessKeyId);
  if (!creds) {
    return {
      ok: false,
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  const check = verifySignature(req, auth, creds.secretAccessKey, nowMs);
  if (check.ok) return { ok: true, region: auth.region };
  return {
    ok: false,
    type: check.kind === 'incomplete' ? 'IncompleteSignatureException' : 'InvalidSignatureException',
    message: check.message,
  };
}
