import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import express4 from 'express4';
import request from 'supertest';
import { BrokerError } from '../../../src/errors.js';
import { cognitoRouter } from '../../../src/middleware/index.js';
import { createFakeBroker } from '../../helpers/fake-broker.js';
import { assertProblem } from '../../helpers/problem-assert.js';

void it('runs on Express 4: routes, body parsing, params, rejected promises and problem errors', async () => {
  const version = (createRequire(import.meta.url)('express4/package.json') as { version: string }).version;
  assert.match(version, /^4\./);
  const broker = createFakeBroker();
  const app = express4();
  app.use((req, _res, next) => {
    if (req.headers['x-test-user'] !== undefined) (req as { user?: unknown }).user = { id: 'u4' };
    next();
  });
  app.use('/aws', cognitoRouter({ broker, allowedProviders: ['graph.facebook.com'] }));

  const token = await request(app).get('/aws/token').set('x-test-user', '1');
  assert.equal(token.status, 200);
  assert.equal(token.headers['cache-control'], 'no-store');
  assert.equal((token.body as { identityId: string }).identityId, (await broker.getToken('u4')).identityId);

  const linked = await request(app)
    .post('/aws/logins')
    .set('x-test-user', '1')
    .send({ provider: 'graph.facebook.com', token: 't' });
  assert.equal(linked.status, 200, linked.text);
  assert.deepEqual((linked.body as { logins: string[] }).logins, ['graph.facebook.com']);
  const unlinked = await request(app).delete('/aws/logins/graph.facebook.com').set('x-test-user', '1');
  assert.equal(unlinked.status, 200, unlinked.text);

  assertProblem(await request(app).get('/aws/credentials'), 401, 'ERR_UNAUTHENTICATED');
  assertProblem(
    await request(app).post('/aws/logins').set('x-test-user', '1').set('Content-Type', 'application/json').send('{'),
    400,
    'ERR_BAD_REQUEST',
  );
  broker.failNext(
    'getCredentials',
    new BrokerError('ERR_COGNITO_THROTTLED', 'Cognito is throttling.', { retryAfterSeconds: 2 }),
  );
  const throttled = await request(app).get('/aws/credentials').set('x-test-user', '1');
  assertProblem(throttled, 503, 'ERR_COGNITO_THROTTLED');
  assert.equal(throttled.headers['retry-after'], '2');
});

void it('compares the Origin with the app’s own origin on Express 4, behind a trusted proxy too', async () => {
  const app = express4();
  app.set('trust proxy', true);
  app.use((req, _res, next) => {
    (req as { user?: unknown }).user = { id: 'u4' };
    next();
  });
  app.use('/aws', cognitoRouter({ broker: createFakeBroker(), allowedProviders: ['graph.facebook.com'] }));
  const link = (headers: Record<string, string>) =>
    request(app).post('/aws/logins').set(headers).send({ provider: 'graph.facebook.com', token: 't' });
  assert.equal((await link({ Host: 'app.local:3000', Origin: 'http://app.local:3000', Cookie: 's=1' })).status, 200);
  assertProblem(
    await link({ Host: 'app.local:3000', Origin: 'https://app.local:3000', Cookie: 's=1' }),
    403,
    'ERR_FORBIDDEN',
  );
  const proxied = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'app.example.com', Cookie: 's=1' };
  assert.equal((await link({ ...proxied, Origin: 'https://app.example.com' })).status, 200);
  assertProblem(await link({ ...proxied, Origin: 'http://app.example.com' }), 403, 'ERR_FORBIDDEN');
});
