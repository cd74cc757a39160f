import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Request } from 'express';
import { isCrossSiteRequest } from '../../../src/middleware/index.js';

function req(method: string, headers: Record<string, string>): Request {
  return { method, headers: { host: 'app.example.com', ...headers } } as unknown as Request;
}

const trusted = new Set(['https://admin.example.com']);
const cookie = { cookie: 'sid=abc' };

void it('lets safe methods and bearer requests without a cookie through', () => {
  const bearer = { authorization: 'Bearer abc' };
  assert.equal(isCrossSiteRequest(req('GET', { ...cookie, 'sec-fetch-site': 'cross-site' }), trusted), false);
  assert.equal(isCrossSiteRequest(req('HEAD', { ...cookie, origin: 'https://evil.example' }), trusted), false);
  assert.equal(
    isCrossSiteRequest(
      req('POST', { ...bearer, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }),
      trusted,
    ),
    false,
  );
  // A bearer header does not make a request that also carries the cookie safe.
  assert.equal(
    isCrossSiteRequest(req('POST', { ...bearer, ...cookie, 'sec-fetch-site': 'cross-site' }), trusted),
    true,
  );
});

void it('refuses a cross-site browser request that carries no cookie (login CSRF)', () => {
  assert.equal(
    isCrossSiteRequest(req('POST', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), trusted),
    true,
  );
  assert.equal(isCrossSiteRequest(req('POST', { 'sec-fetch-site': 'cross-site' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { 'sec-fetch-site': 'same-site' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { origin: 'https://evil.example' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { origin: 'null' }), trusted), true);
  // The same page's own requests, trusted origins and non-browser clients still pass.
  assert.equal(
    isCrossSiteRequest(req('POST', { origin: 'https://app.example.com', 'sec-fetch-site': 'same-origin' }), trusted),
    false,
  );
  assert.equal(
    isCrossSiteRequest(req('POST', { origin: 'https://admin.example.com', 'sec-fetch-site': 'same-site' }), trusted),
    false,
  );
  assert.equal(isCrossSiteRequest(req('POST', {}), trusted), false);
});

void it('decides by Sec-Fetch-Site when the browser sends it', () => {
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, 'sec-fetch-site': 'same-origin' }), trusted), false);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, 'sec-fetch-site': 'none' }), trusted), false);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, 'sec-fetch-site': 'cross-site' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('DELETE', { ...cookie, 'sec-fetch-site': 'same-site' }), trusted), true);
  assert.equal(
    isCrossSiteRequest(
      req('POST', { ...cookie, 'sec-fetch-site': 'same-site', origin: 'https://admin.example.com' }),
      trusted,
    ),
    false,
  );
});

void it('falls back to comparing Origin with the Host', () => {
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'https://app.example.com' }), trusted), false);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'https://evil.example' }), trusted), true);
  assert.equal(
    isCrossSiteRequest(req('POST', { ...cookie, origin: 'https://app.example.com.evil.example' }), trusted),
    true,
  );
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'null' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: '::::' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'https://admin.example.com' }), trusted), false);
  // Non-browser clients send neither header.
  assert.equal(isCrossSiteRequest(req('POST', cookie), trusted), false);
});
