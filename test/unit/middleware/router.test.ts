import assert from 'node:assert/strict';
import { it } from 'node:test';
import express, { type Express } from 'express';
import request from 'supertest';
import { BrokerError } from '../../../src/errors.js';
import { cognitoRouter, type CognitoRouterOptions } from '../../../src/middleware/index.js';
import { createFakeBroker, type FakeBroker } from '../../helpers/fake-broker.js';
import { GUEST_SESSION_KEY } from '../../../src/middleware/guest-session.js';
import { logSink } from '../../helpers/log-sink.js';
import { assertProblem } from '../../helpers/problem-assert.js';

/** An app whose "authentication" puts `req.user` from an `x-test-user` header (tests only). */
function appWith(
  broker: FakeBroker,
  options: Partial<CognitoRouterOptions> = {},
  mount = '/aws',
  preParse = false,
): Express {
  const app = express();
  if (preParse) app.use(express.json());
  app.use((req, _res, next) => {
    const id = req.headers['x-test-user'];
    if (typeof id === 'string') (req as { user?: unknown }).user = { id };
    next();
  });
  app.use(
    mount,
    cognitoRouter({
      broker,
      allowedProviders: ['graph.facebook.com', 'cognito-idp.us-east-1.amazonaws.com/us-east-1_abc'],
      ...options,
    }),
  );
  app.get('/after', (_req, res) => {
    res.send('app route');
  });
  return app;
}

void it('maps a broker throttling error to 503 with Retry-After from the error', async () => {
  const broker = createFakeBroker();
  broker.failNext(
    'getCredentials',
    new BrokerError('ERR_COGNITO_THROTTLED', 'Cognito is throttling.', { retryAfterSeconds: 7 }),
  );
  const res = await request(appWith(broker)).get('/aws/credentials').set('x-test-user', 'u1');
  assertProblem(res, 503, 'ERR_COGNITO_THROTTLED');
  assert.equal(res.headers['retry-after'], '7');
});

void it('hides the message of 5xx errors, logs the code and cause name only', async () => {
  const broker = createFakeBroker();
  const { logger, text } = logSink({ redact: true });
  const cause = Object.assign(new Error('pool us-east-1:123 has no role for secret-thing'), {
    name: 'InvalidIdentityPoolConfigurationException',
  });
  broker.failNext(
    'getToken',
    new BrokerError('ERR_MISCONFIGURED', 'The identity pool is misconfigured: no role', { cause }),
  );
  const res = await request(appWith(broker, { logger })).get('/aws/token').set('x-test-user', 'u1');
  assertProblem(res, 500, 'ERR_MISCONFIGURED');
  assert.equal((res.body as { detail?: string }).detail, undefined);
  const log = text();
  assert.match(log, /"code":"ERR_MISCONFIGURED"/);
  assert.match(log, /"causeName":"InvalidIdentityPoolConfigurationException"/);
  assert.equal(log.includes('secret-thing'), false);
});

void it('answers an unexpected exception with a bare 500 ERR_INTERNAL', async () => {
  const broker = createFakeBroker();
  broker.failNext('describeIdentity', new TypeError('x is not a function at /srv/app.js:1:2'));
  const res = await request(appWith(broker)).get('/aws/identity').set('x-test-user', 'u1');
  assertProblem(res, 500, 'ERR_INTERNAL');
  assert.equal(res.text.includes('not a function'), false);
});

void it('answers a refused provider token with 422 and no challenge (the session stays valid)', async () => {
  const broker = createFakeBroker();
  broker.failNext('linkLogin', new BrokerError('ERR_PROVIDER_TOKEN_REJECTED', 'The provider token was rejected.'));
  const res = await request(appWith(broker))
    .post('/aws/logins')
    .set('x-test-user', 'u1')
    .send({ provider: 'graph.facebook.com', token: 't' });
  assertProblem(res, 422, 'ERR_PROVIDER_TOKEN_REJECTED');
  assert.equal(res.headers['www-authenticate'], undefined);
});

void it('does not swallow the app’s own routes when mounted at the root', async () => {
  const app = appWith(createFakeBroker(), {}, '/');
  const res = await request(app).get('/after');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'app route');
});

void it('serves HEAD, a trailing slash, any case, and a percent-encoded provider', async () => {
  const broker = createFakeBroker();
  const app = appWith(broker);
  assert.equal((await request(app).head('/aws/token').set('x-test-user', 'u1')).status, 200);
  assert.equal((await request(app).get('/aws/Token/').set('x-test-user', 'u1')).status, 200);
  const provider = 'cognito-idp.us-east-1.amazonaws.com/us-east-1_abc';
  await request(app).post('/aws/logins').set('x-test-user', 'u1').send({ provider, token: 't' });
  const res = await request(app)
    .delete(`/aws/logins/${encodeURIComponent(provider)}`)
    .set('x-test-user', 'u1');
  assert.equal(res.status, 200, res.text);
  assert.equal(broker.calls.unlinkLogin, 1);
  assertProblem(await request(app).delete('/aws/logins/%E0%A4%A').set('x-test-user', 'u1'), 400, 'ERR_BAD_REQUEST');
});

void it('works when the app already parsed the body with express.json()', async () => {
  const broker = createFakeBroker();
  const res = await request(appWith(broker, {}, '/aws', true))
    .post('/aws/logins')
    .set('x-test-user', 'u1')
    .send({ provider: 'graph.facebook.com', token: 't' });
  assert.equal(res.status, 200, res.text);
  assert.equal(broker.calls.linkLogin, 1);
});

void it('reads the user id through a custom getUserId and never from body, query or headers', async () => {
  const broker = createFakeBroker();
  const app = express();
  app.use((req, _res, next) => {
    (req as { user?: unknown }).user = { sub: 'custom-7' };
    next();
  });
  app.use(
    '/aws',
    cognitoRouter({ broker, allowedProviders: [], getUserId: (req) => (req.user as { sub: string }).sub }),
  );
  const res = await request(app).get('/aws/token?userId=other').set('x-user-id', 'other');
  assert.equal(res.status, 200);
  assert.equal((res.body as { identityId: string }).identityId, (await broker.getToken('custom-7')).identityId);
  assertProblem(
    await request(express().use('/aws', cognitoRouter({ broker, allowedProviders: [] }))).get('/aws/token?userId=u1'),
    401,
    'ERR_UNAUTHENTICATED',
  );
});

void it('afterLogin never fails the login when Cognito fails; logout drops the session’s guest and keeps the user’s cache', async () => {
  const broker = createFakeBroker();
  const { logger, text } = logSink({ redact: true });
  const router = cognitoRouter({ broker, allowedProviders: [], logger });
  const app = express();
  app.use(express.json());
  const session: Record<string, unknown> = {};
  app.use((req, _res, next) => {
    (req as { user?: unknown }).user = { id: 'u9' };
    (req as { session?: unknown }).session = session;
    next();
  });
  app.post('/login', router.afterLogin(), (_req, res) => {
    res.json(res.locals.cognito);
  });
  app.post('/logout', router.logout(), (_req, res) => {
    res.status(204).end();
  });
  broker.failNext('getToken', new BrokerError('ERR_COGNITO_UNAVAILABLE', 'Cognito is unavailable.'));
  const res = await request(app).post('/login').send({});
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { guestUpgraded: false });
  assert.match(text(), /"code":"ERR_COGNITO_UNAVAILABLE"/);
  const ok = await request(app).post('/login').send({});
  assert.equal((ok.body as { identityId: string }).identityId, (await broker.getToken('u9')).identityId);
  session[GUEST_SESSION_KEY] = 'us-east-1:00000000-0000-0000-0000-000000000001';
  assert.equal((await request(app).post('/logout')).status, 204);
  assert.equal(GUEST_SESSION_KEY in session, false, 'the guest id leaves the session');
  assert.equal(broker.calls.forgetUser, undefined, 'the cache stays for the next login');
});

void it('refuses a compressed body and a non-object JSON body with 400', async () => {
  const app = appWith(createFakeBroker());
  assertProblem(
    await request(app)
      .post('/aws/logins')
      .set('x-test-user', 'u1')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{}'),
    400,
    'ERR_BAD_REQUEST',
  );
  assertProblem(
    await request(app).post('/aws/logins').set('x-test-user', 'u1').set('Content-Type', 'application/json').send('"x"'),
    400,
    'ERR_BAD_REQUEST',
  );
});

void it('POST /guest replaces a session guest that Cognito reports deleted or no longer a guest, and keeps it on a temporary failure', async () => {
  const broker = createFakeBroker();
  const session: Record<string, unknown> = {};
  const app = express();
  // A stand-in for express-session: one session shared by every request of this test.
  app.use((req, _res, next) => {
    (req as { session?: unknown }).session = session;
    next();
  });
  app.use('/aws', cognitoRouter({ broker, allowedProviders: [], allowGuests: true }));
  const first = await request(app).post('/aws/guest');
  assert.equal(first.status, 200, first.text);
  const guestId = (first.body as { identityId: string }).identityId;
  // Throttled: the answer is 503 and the session keeps its guest.
  broker.failNext(
    'getGuestCredentials',
    new BrokerError('ERR_COGNITO_THROTTLED', 'Cognito is throttling.', { retryAfterSeconds: 2 }),
  );
  assertProblem(await request(app).post('/aws/guest'), 503, 'ERR_COGNITO_THROTTLED');
  const same = await request(app).post('/aws/guest');
  assert.equal((same.body as { identityId: string }).identityId, guestId);
  // Deleted, then no longer a guest: each time a new guest identity, kept in the session.
  let current = guestId;
  for (const err of [
    new BrokerError('ERR_NOT_FOUND', 'No such identity.'),
    new BrokerError('ERR_FORBIDDEN', 'Not a guest.'),
  ]) {
    broker.failNext('getGuestCredentials', err);
    const res = await request(app).post('/aws/guest');
    assert.equal(res.status, 200, res.text);
    const next = (res.body as { identityId: string }).identityId;
    assert.notEqual(next, current);
    assert.equal(session.cognitoGuestIdentityId, next);
    current = next;
  }
});
