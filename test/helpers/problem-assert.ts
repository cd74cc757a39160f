import assert from 'node:assert/strict';
import type { Response } from 'supertest';

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
