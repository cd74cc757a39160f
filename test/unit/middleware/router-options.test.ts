import assert from 'node:assert/strict';
import { it } from 'node:test';
import express, { type Express, type Request } from 'express';
import request from 'supertest';
import { cognitoRouter, type CognitoRouterOptions } from '../../../src/middleware/index.js';
import { createFakeBroker, type FakeBroker } from '../../helpers/fake-broker.js';

function build(overrides: Record<string, unknown>): () => unknown {
  const options = { broker: createFakeBroker(), allowedProviders: ['graph.facebook.com'], ...overrides };
  return () => cognitoRouter(options);
}

/** An app that mounts the router at /aws; `x-user` stands in for the app's authentication. */
function appWith(broker: FakeBroker, options: Partial<CognitoRouterOptions> = {}): Express {
  const app = express();
  const router = cognitoRouter({ broker, allowedProviders: ['graph.facebook.com'], ...options });
  app.use((req, _res, next) => {
    const id = req.headers['x-user'];
    if (typeof id === 'string') (req as { user?: unknown }).user = { id, login: `login-${id}` };
    next();
  });
  app.post('/login', router.afterLogin(), (_req, res) => {
    res.json(res.locals.cognito as unknown);
  });
  app.post('/logout', router.logout(), (_req, res) => {
    res.sendStatus(204);
  });
  app.use('/aws', router);
  app.use((_req, res) => {
    res.status(404).send('app 404');
  });
  return app;
}

void it('binds afterLogin and logout to the router’s broker and getUserId', async () => {
  const broker = createFakeBroker();
  const getUserId = (req: Request) => (req as { user?: { login?: string } }).user?.login;
  const app = appWith(broker, { getUserId });
  const login = await request(app).post('/login').set('x-user', 'u1');
  assert.equal(login.status, 200);
  const { identityId } = login.body as { identityId: string };
  assert.equal(identityId, (await broker.getToken('login-u1')).identityId, 'warmed for getUserId’s id');
  assert.equal(broker.calls.getToken, 2);
  await request(app).post('/logout').set('x-user', 'u1').expect(204);
  assert.equal(broker.calls.forgetUser, undefined, 'logout leaves the cache alone');
});

void it('reads the user through getUserId, never the default req.user.id', async () => {
  const broker = createFakeBroker();
  const app = appWith(broker, { getUserId: () => undefined });
  const res = await request(app).get('/aws/token').set('x-user', 'u1');
  assert.equal(res.status, 401);
  assert.equal((res.body as { code: string }).code, 'ERR_UNAUTHENTICATED');
  assert.equal(broker.calls.getToken, undefined);
});

void it('computes expiresIn on the given clock', async () => {
  const broker = createFakeBroker(() => 1_000_000);
  const app = appWith(broker, { clock: { now: () => 1_000_000 + 100_500 } });
  const res = await request(app).get('/aws/token').set('x-user', 'u1');
  assert.equal(res.status, 200);
  assert.equal((res.body as { expiresIn: number }).expiresIn, 799, '900 s token, 100.5 s later');
});

void it('applies rateLimit per user on linking, and not at all with rateLimit: false', async () => {
  const link = (app: Express, user: string) =>
    request(app)
      .post('/aws/logins')
      .set('x-user', user)
      .send({ provider: 'graph.facebook.com', token: `t-${user}` });
  const limited = appWith(createFakeBroker(), { rateLimit: { max: 2, windowSeconds: 60 } });
  assert.deepEqual(
    [(await link(limited, 'u1')).status, (await link(limited, 'u1')).status, (await link(limited, 'u1')).status],
    [200, 200, 429],
  );
  assert.equal((await link(limited, 'u2')).status, 200, 'another user has a budget of its own');
  const open = appWith(createFakeBroker(), { rateLimit: false });
  for (let i = 0; i < 12; i += 1) assert.equal((await link(open, 'u1')).status, 200);
});

void it('refuses a body over bodyLimitBytes with 413', async () => {
  const app = appWith(createFakeBroker(), { bodyLimitBytes: 64 });
  const res = await request(app)
    .post('/aws/logins')
    .set('x-user', 'u1')
    .send({ provider: 'graph.facebook.com', token: 'x'.repeat(100) });
  assert.equal(res.status, 413);
  assert.equal((res.body as { code: string }).code, 'ERR_PAYLOAD_TOO_LARGE');
});

void it('serves POST /guest only with allowGuests: true', async () => {
  const off = await request(appWith(createFakeBroker())).post('/aws/guest');
  assert.deepEqual([off.status, off.text], [404, 'app 404'], 'falls through to the app');
  const on = await request(appWith(createFakeBroker(), { allowGuests: true })).post('/aws/guest');
  assert.equal(on.status, 200);
  assert.match((on.body as { identityId: string }).identityId, /^us-east-1:/);
});

void it('serves GET /credentials and GET /token unless credentials: false, token: false', async () => {
  const on = appWith(createFakeBroker());
  assert.equal((await request(on).get('/aws/credentials').set('x-user', 'u1')).status, 200);
  assert.equal((await request(on).get('/aws/token').set('x-user', 'u1')).status, 200);
  const off = appWith(createFakeBroker(), { credentials: false, token: false });
  for (const path of ['/aws/credentials', '/aws/token']) {
    const res = await request(off).get(path).set('x-user', 'u1');
    assert.deepEqual([res.status, res.text], [404, 'app 404'], path);
  }
  assert.equal((await request(off).get('/aws/identity').set('x-user', 'u1')).status, 200);
});

void it('lets trustedOrigins send state-changing requests and refuses other sites', async () => {
  const app = appWith(createFakeBroker(), { trustedOrigins: ['https://app.example.com'] });
  const from = (origin: string) =>
    request(app)
      .post('/aws/logins')
      .set('x-user', 'u1')
      .set('origin', origin)
      .send({ provider: 'graph.facebook.com', token: 't' });
  assert.equal((await from('https://app.example.com')).status, 200);
  const other = await from('https://evil.example');
  assert.equal(other.status, 403);
  assert.equal((other.body as { code: string }).code, 'ERR_FORBIDDEN');
});

void it('throws a TypeError at creation for each invalid option', () => {
  assert.throws(() => cognitoRouter(undefined as unknown as CognitoRouterOptions), TypeError);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ broker: undefined }, /broker is required/],
    [{ broker: { getToken: () => null } }, /broker\.getCredentials must be a function/],
    [{ allowedProviders: undefined }, /allowedProviders must be an array/],
    [{ allowedProviders: 'graph.facebook.com' }, /allowedProviders must be an array/],
    [{ allowedProviders: [''] }, /non-empty provider names/],
    [{ allowedProviders: ['a b'] }, /non-empty provider names/],
    [{ allowedProviders: ['x'.repeat(129)] }, /at most 128/],
    [{ allowedProviders: ['cognito-identity.amazonaws.com'] }, /Cognito’s own logins key/],
    [{ getUserId: 'user.id' }, /getUserId must be a function/],
    [{ verifyMergeSource: true }, /verifyMergeSource must be a function/],
    [{ bodyLimitBytes: 0 }, /bodyLimitBytes/],
    [{ bodyLimitBytes: 1.5 }, /bodyLimitBytes/],
    [{ bodyLimitBytes: 10_000_000 }, /bodyLimitBytes/],
    [{ allowGuests: 'yes' }, /allowGuests must be a boolean/],
    [{ credentials: 'no' }, /credentials must be a boolean/],
    [{ token: 0 }, /token must be a boolean/],
    [{ rateLimit: null }, /rateLimit must be an object or false/],
    [{ rateLimit: { max: 0 } }, /rateLimit\.max must be a positive integer/],
    [{ rateLimit: { windowSeconds: -1 } }, /rateLimit\.windowSeconds/],
    [{ trustedOrigins: 'https://a.example' }, /trustedOrigins must be an array/],
    [{ trustedOrigins: ['https://a.example/path'] }, /bare origins/],
    [{ trustedOrigins: ['not a url'] }, /invalid origin/],
    [{ clock: {} }, /clock must have a now\(\) method/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(
      build(overrides),
      (err: unknown) => err instanceof TypeError && message.test(err.message),
      JSON.stringify(overrides),
    );
  }
});

void it('accepts rateLimit: false and trusted origins with a trailing slash', () => {
  assert.doesNotThrow(
    build({ rateLimit: false, trustedOrigins: ['https://app.example.com/', 'http://localhost:5173'] }),
  );
});
