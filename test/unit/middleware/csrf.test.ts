import assert from 'node:assert/strict';
import { it } from 'node:test';
import express, { type Request } from 'express';
import request from 'supertest';
import { brokerErrorHandler, isCrossSiteRequest, sameOriginOnly } from '../../../src/middleware/index.js';
import { assertProblem } from '../../helpers/problem-assert.js';

/** A request as Express derives it for https://app.example.com (`protocol`, `hostname`). */
function req(method: string, headers: Record<string, string>): Request {
  return {
    method,
    protocol: 'https',
    hostname: 'app.example.com',
    headers: { host: 'app.example.com', ...headers },
  } as unknown as Request;
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

void it('compares the Origin by scheme, host and port, not by host alone', () => {
  const http = (headers: Record<string, string>) =>
    ({ ...req('POST', headers), protocol: 'http' }) as unknown as Request;
  assert.equal(isCrossSiteRequest(http({ ...cookie, origin: 'https://app.example.com' }), trusted), true);
  assert.equal(isCrossSiteRequest(http({ ...cookie, origin: 'http://app.example.com' }), trusted), false);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'http://app.example.com' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'https://app.example.com:8443' }), trusted), true);
  assert.equal(isCrossSiteRequest(req('POST', { ...cookie, origin: 'https://app.example.com:443' }), trusted), false);
  const onPort = (origin: string) =>
    isCrossSiteRequest(
      {
        ...http({ ...cookie, origin }),
        headers: { host: 'app.example.com:3000', ...cookie, origin },
      } as unknown as Request,
      trusted,
    );
  assert.equal(onPort('http://app.example.com:3000'), false);
  assert.equal(onPort('http://app.example.com'), true);
  assert.equal(onPort('http://app.example.com:3001'), true);
});

void it('treats a foreign Origin as cross-site whatever Sec-Fetch-Site says', () => {
  for (const site of ['none', 'same-origin']) {
    assert.equal(
      isCrossSiteRequest(req('POST', { ...cookie, 'sec-fetch-site': site, origin: 'https://evil.example' }), trusted),
      true,
      site,
    );
    assert.equal(
      isCrossSiteRequest(req('POST', { 'sec-fetch-site': site, origin: 'http://app.example.com' }), trusted),
      true,
      site,
    );
    assert.equal(isCrossSiteRequest(req('POST', { ...cookie, 'sec-fetch-site': site, origin: 'null' }), trusted), true);
    assert.equal(
      isCrossSiteRequest(
        req('POST', { ...cookie, 'sec-fetch-site': site, origin: 'https://app.example.com' }),
        trusted,
      ),
      false,
    );
  }
});

/** An app with `sameOriginOnly` on POST /change; `trustProxy` is Express's `trust proxy`. */
function csrfApp(trustProxy: boolean, trustedOrigins?: readonly string[]) {
  const app = express();
  app.set('trust proxy', trustProxy);
  app.post('/change', sameOriginOnly(trustedOrigins === undefined ? {} : { trustedOrigins }), (_req, res) => {
    res.status(204).end();
  });
  app.use(brokerErrorHandler());
  return app;
}

void it('derives the app’s own origin behind a trusted proxy from X-Forwarded-Proto and X-Forwarded-Host', async () => {
  const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', cookie: 'sid=1' };
  const behind = csrfApp(true);
  await request(behind).post('/change').set(proxied).set('Origin', 'https://app.example.com').expect(204);
  assertProblem(
    await request(behind).post('/change').set(proxied).set('Origin', 'http://app.example.com'),
    403,
    'ERR_FORBIDDEN',
  );
  // Without `trust proxy` the forwarded headers count for nothing: the app is its own Host over http.
  const direct = csrfApp(false);
  assertProblem(
    await request(direct).post('/change').set(proxied).set('Origin', 'https://app.example.com'),
    403,
    'ERR_FORBIDDEN',
  );
  await request(direct)
    .post('/change')
    .set({ host: 'app.example.com:3000', cookie: 'sid=1' })
    .set('Origin', 'http://app.example.com:3000')
    .expect(204);
  // …unless the public origin is configured.
  await request(csrfApp(false, ['https://app.example.com']))
    .post('/change')
    .set(proxied)
    .set('Origin', 'https://app.example.com')
    .expect(204);
});
