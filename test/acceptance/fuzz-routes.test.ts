// Fuzzing the example app and every route of the middleware with fast-check: random methods, paths,
// path parameters, headers, content types, bodies and sizes, with and without a session. No 500
// other than the documented upstream ones, no crash, every error a well-formed problem+json with a
// known code, oversized JSON bodies refused with 413. Fixed seed, bounded runs.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import request, { type Response } from 'supertest';
import {
  DEMO_POOL,
  DEMO_PROVIDER,
  hostileUsers,
  RAISED_LOGIN_LIMITS,
  startAppStack,
  type AppStack,
} from '../helpers/app-stack.js';
import { withCrashWatch } from '../helpers/crash-watch.js';
import { problemCode } from '../helpers/problem-assert.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

const SEED = 20_261_122;
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
/** The router's default JSON body limit and the example app's own (login, bearer login). */
const ROUTER_LIMIT = 8192;
const APP_LIMIT = 4096;

let s: AppStack;
let server: Server;
let base: string;
const ledger = new SecretLedger();
ledger.checkAfter(() => s.logText());
const users = hostileUsers(4);
let bearer = '';
let cookie = '';
let cases = 0;
const statusCounts: Record<number, number> = {};

const ROUTES = [
  ['GET', '/aws/credentials'],
  ['GET', '/aws/token'],
  ['GET', '/aws/identity'],
  ['POST', '/aws/logins'],
  ['DELETE', `/aws/logins/${DEMO_PROVIDER}`],
  ['POST', '/aws/merge'],
  ['POST', '/aws/guest'],
  ['POST', '/login'],
  ['POST', '/logout'],
  ['POST', '/api/tokens'],
  ['GET', '/me'],
  ['POST', '/demo/provider-token'],
] as const;

/** Printable header values (node refuses control characters before the app sees them). */
const headerValue = fc.string({ maxLength: 80 }).map((v) => v.replace(/[^\x20-\x7e]/g, 'x'));

const providerName = fc.oneof(
  fc.constantFrom(
    DEMO_PROVIDER,
    DEMO_POOL.developerProviderName,
    'cognito-identity.amazonaws.com',
    'accounts.google.com',
    'GRAPH.FACEBOOK.COM',
    'graph.facebook.com.',
    ' graph.facebook.com',
    '',
  ),
  fc.string({ maxLength: 200, unit: 'grapheme' }),
);

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROUTES.map(([, p]) => p)) },
  { weight: 3, arbitrary: providerName.map((p) => `/aws/logins/${encodeURIComponent(p)}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/aws/logins/%',
      '/aws/logins/%E0%A4%A',
      '/aws/logins/a%2Fb',
      '/aws/LOGINS/graph.facebook.com/',
      '/aws//token',
      '/aws/token/',
      '/aws/TOKEN',
      '/aws/token?identityId=us-east-1:00000000-0000-4000-8000-000000000000',
      '/aws/..%2f..%2fetc/passwd',
      '/aws/credentials;jsessionid=1',
      '/%00',
      '/aws/%ZZ',
    ),
  },
  { weight: 1, arbitrary: fc.webPath().map((p) => `/aws${p.startsWith('/') ? p : `/${p}`}`) },
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/merge-patch+json',
    'APPLICATION/JSON',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
  ),
  headerValue,
);

const identityIdish = fc.constantFrom(
  'us-east-1:00000000-0000-4000-8000-000000000000',
  'us-east-1:',
  '../',
  'x'.repeat(60),
);

const bodyObject = fc.record(
  {
    provider: providerName,
    token: fc.oneof(fc.string({ maxLength: 300 }), fc.constant('x'.repeat(50_001)), fc.integer(), fc.constant(null)),
    username: fc.oneof(fc.constantFrom(...users.map((u) => u.username), 'alice'), fc.string({ maxLength: 40 })),
    password: fc.oneof(fc.constantFrom(...users.map((u) => u.password)), fc.string({ maxLength: 1100 })),
    identityId: identityIdish,
    guestIdentityId: fc.oneof(identityIdish, fc.jsonValue()),
    userId: fc.constantFrom(...users.map((u) => u.id)),
    __proto__: fc.constant({ polluted: true }),
    constructor: fc.constant({ prototype: { polluted: true } }),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 4, arbitrary: bodyObject.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0, max: 40_000 })
      .map((n) => JSON.stringify({ token: 'a'.repeat(n), provider: DEMO_PROVIDER })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '[]',
      'null',
      '"x"',
      '{"a":'.repeat(2000),
      '\u0000',
      '{"provider":"graph.facebook.com","token":"\ud800"}',
    ),
  },
);

const randomMethod = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS') },
);

/** Mostly a real route (so that requests reach the handlers), sometimes anything. */
const target = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...ROUTES).map(([method, p]) => ({ method: method, path: p })) },
  {
    weight: 2,
    arbitrary: providerName.map((p) => ({ method: 'DELETE', path: `/aws/logins/${encodeURIComponent(p)}` })),
  },
  { weight: 3, arbitrary: fc.record({ method: randomMethod, path }) },
);

const fuzzCase = fc.record({
  target,
  auth: fc.oneof(
    { weight: 5, arbitrary: fc.constant('bearer') },
    { weight: 3, arbitrary: fc.constant('cookie') },
    { weight: 2, arbitrary: fc.constantFrom('none', 'junk-bearer', 'junk-cookie') },
  ),
  contentType: fc.option(contentType, { nil: undefined }),
  contentEncoding: fc.option(fc.constantFrom('gzip', 'identity', 'br', 'x'), { nil: undefined, freq: 6 }),
  origin: fc.option(fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1', 'not a url'), {
    nil: undefined,
  }),
  secFetchSite: fc.option(fc.constantFrom('cross-site', 'same-site', 'same-origin', 'none', 'garbage'), {
    nil: undefined,
  }),
  extra: fc.dictionary(
    fc.constantFrom('x-identity-id', 'x-forwarded-for', 'x-user-id', 'accept', 'x-amz-target', 'cookie2'),
    headerValue,
    { maxKeys: 3 },
  ),
  body: fc.option(body, { nil: undefined, freq: 4 }),
});

type FuzzCase = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

async function send(c: FuzzCase): Promise<Response> {
  const agent = request(base);
  const m = c.target.method.toLowerCase() as 'get' | 'post' | 'delete' | 'put' | 'patch' | 'head' | 'options';
  let req = agent[m](c.target.path).timeout(15_000);
  if (c.auth === 'bearer') req = req.set('Authorization', `Bearer ${bearer}`);
  if (c.auth === 'junk-bearer') req = req.set('Authorization', 'Bearer not-a-real-token-0123456789');
  if (c.auth === 'cookie') req = req.set('Cookie', cookie);
  if (c.auth === 'junk-cookie') req = req.set('Cookie', 'demo.sid=s%3Anot-a-session.forged-signature');
  for (const [k, v] of Object.entries(c.extra)) req = req.set(k, v);
  if (c.contentType !== undefined) req = req.set('Content-Type', c.contentType);
  if (c.contentEncoding !== undefined) req = req.set('Content-Encoding', c.contentEncoding);
  if (c.origin !== undefined) req = req.set('Origin', c.origin);
  if (c.secFetchSite !== undefined) req = req.set('Sec-Fetch-Site', c.secFetchSite);
  const res = c.body !== undefined && m !== 'get' && m !== 'head' ? await req.send(c.body) : await req;
  cases += 1;
  statusCounts[res.status] = (statusCounts[res.status] ?? 0) + 1;
  ledger.observe(res);
  return res;
}

function checkResponse(c: FuzzCase, res: Response): void {
  assert.ok(
    res.status < 500 ||
      ['ERR_COGNITO_THROTTLED', 'ERR_COGNITO_UNAVAILABLE', 'ERR_COGNITO_TIMEOUT'].includes(problemCode(res)),
    `${res.status} ${res.text}`,
  );
  if (res.status >= 400 && c.target.method !== 'HEAD') problemCode(res);
  if (res.status >= 300 && res.status < 400) assert.fail(`unexpected redirect ${res.status} for ${c.target.path}`);
}

async function refreshLogins(): Promise<void> {
  const u = users[0]!;
  const tokenRes = await request(base).post('/api/tokens').send({ username: u.username, password: u.password });
  assert.equal(tokenRes.status, 200);
  bearer = (tokenRes.body as { accessToken: string }).accessToken;
  ledger.add(bearer, `Bearer ${bearer}`);
  const loginRes = await request(base)
    .post('/login')
    .send({ username: users[1]!.username, password: users[1]!.password });
  assert.equal(loginRes.status, 200);
  const set = loginRes.headers['set-cookie'] as unknown as string[];
  cookie = set[0]!.split(';')[0]!;
  ledger.observe(loginRes);
}

void describe('fuzzing the example app and the middleware routes', () => {
  before(async () => {
    s = await startAppStack({ users, app: { rateLimit: false, loginRateLimit: RAISED_LOGIN_LIMITS } });
    server = s.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await refreshLogins();
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    server.closeAllConnections();
    await s.stop();
  });

  void it('answers every random request with 2xx or a well-formed problem, never an unexplained 5xx', (t: TestContext) =>
    withCrashWatch(async () => {
      await fc.assert(
        fc.asyncProperty(fuzzCase, async (c) => {
          const res = await send(c);
          checkResponse(c, res);
          // The logout route and merges change the session: keep the fixtures logged in.
          const p = c.target.path;
          if (res.status < 300 && (p === '/logout' || p === '/aws/merge' || p === '/login' || p === '/aws/guest'))
            await refreshLogins();
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, 'no prototype pollution');
      t.diagnostic(`random requests: ${cases}; statuses ${JSON.stringify(statusCounts)}`);
    }));

  void it('refuses every oversized JSON body with 413, whoever sends it', (t: TestContext) =>
    withCrashWatch(async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            ['/aws/logins', ROUTER_LIMIT],
            ['/aws/merge', ROUTER_LIMIT],
            ['/login', APP_LIMIT],
            ['/api/tokens', APP_LIMIT],
          ),
          fc.integer({ min: 1, max: 200_000 }),
          fc.boolean(),
          fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/merge-patch+json'),
          async ([route, limit], extra, withBearer, type) => {
            // The app's own express.json() reads application/json only; the router reads any +json.
            if (route !== '/aws/logins' && route !== '/aws/merge' && type === 'application/merge-patch+json') return;
            const payload = JSON.stringify({
              provider: DEMO_PROVIDER,
              token: 'a'.repeat(limit + extra),
              username: 'u0',
              password: 'x',
            });
            let req = request(base).post(route).set('Content-Type', type).timeout(15_000);
            if (withBearer) req = req.set('Authorization', `Bearer ${bearer}`);
            const res = await req.send(payload);
            n += 1;
            ledger.observe(res);
            assert.equal(res.status, 413, `${route} ${payload.length} bytes: ${res.status} ${res.text}`);
            assert.equal(problemCode(res), 'ERR_PAYLOAD_TOO_LARGE');
          },
        ),
        { seed: SEED, numRuns: Math.max(20, Math.floor(RUNS / 10)), endOnFailure: true },
      );
      t.diagnostic(`oversized bodies: ${n}`);
    }));

  void it('answers a body just under the router limit normally (not 413)', async () => {
    const payload = JSON.stringify({ provider: DEMO_PROVIDER, token: 'a'.repeat(ROUTER_LIMIT - 60) });
    assert.ok(payload.length <= ROUTER_LIMIT, 'under the limit');
    const res = await request(base)
      .post('/aws/logins')
      .set('Authorization', `Bearer ${bearer}`)
      .set('Content-Type', 'application/json')
      .send(payload);
    ledger.observe(res);
    assert.notEqual(res.status, 413);
    assert.equal(problemCode(res), 'ERR_PROVIDER_TOKEN_REJECTED');
  });
});
