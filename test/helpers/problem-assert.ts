import assert from 'node:assert/strict';
import type { Response } from 'supertest';
import type { BrokerErrorCode } from '../../src/index.js';

/** Asserts that `res` is an `application/problem+json` error with this status and code. */
export function assertProblem(res: Response, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.type, `tag:cognito-identity-broker,2026:${code}`);
  assert.equal(typeof body.title, 'string');
  assert.deepEqual(
    Object.keys(body).filter((k) => !['type', 'title', 'status', 'code', 'detail'].includes(k)),
    [],
  );
  assert.doesNotMatch(res.text, /\bat .+\.(ts|js):\d+/, 'no stack trace');
  assert.equal(res.headers['cache-control'], 'no-store');
  if (status === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer /);
  if (status === 429 || status === 503) assert.match(String(res.headers['retry-after']), /^\d+$/);
}

/** Every code the middleware and the example app may answer with. */
export const KNOWN_CODES: ReadonlySet<BrokerErrorCode> = new Set<BrokerErrorCode>([
  'ERR_UNAUTHENTICATED',
  'ERR_BAD_REQUEST',
  'ERR_BAD_POLICY',
  'ERR_FORBIDDEN',
  'ERR_NOT_FOUND',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_CONFLICT',
  'ERR_LIMIT_EXCEEDED',
  'ERR_PROVIDER_TOKEN_REJECTED',
  'ERR_RATE_LIMITED',
  'ERR_COGNITO_THROTTLED',
  'ERR_COGNITO_REJECTED',
  'ERR_COGNITO_UNAVAILABLE',
  'ERR_COGNITO_TIMEOUT',
  'ERR_IDENTITY_DISABLED',
  'ERR_FLEET_UNAVAILABLE',
  'ERR_MISCONFIGURED',
  'ERR_INTERNAL',
]);

/** The codes a request may end in while Cognito is failing: the documented upstream ones. */
export const UPSTREAM_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ERR_COGNITO_THROTTLED',
  'ERR_COGNITO_UNAVAILABLE',
  'ERR_COGNITO_TIMEOUT',
]);

/** Asserts a well-formed problem document with a known code, and returns the code. */
export function problemCode(res: Response): string {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${res.status} ${res.text}`);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(typeof body.code, 'string');
  assert.ok(KNOWN_CODES.has(body.code as BrokerErrorCode), `unknown code ${String(body.code)}`);
  assert.equal(body.status, res.status);
  assert.equal(body.type, `tag:cognito-identity-broker,2026:${String(body.code)}`);
  assert.equal(typeof body.title, 'string');
  assert.deepEqual(
    Object.keys(body).filter((k) => !['type', 'title', 'status', 'code', 'detail'].includes(k)),
    [],
  );
  assert.doesNotMatch(res.text, /\bat .+\.(ts|js):\d+/, 'no stack trace');
  assert.equal(res.headers['cache-control'], 'no-store');
  if (res.status === 429 || res.status === 503) assert.match(String(res.headers['retry-after']), /^\d+$/);
  return body.code as string;
}
