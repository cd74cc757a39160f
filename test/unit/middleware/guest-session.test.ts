import assert from 'node:assert/strict';
import { it } from 'node:test';
import express, { type Express } from 'express';
import request from 'supertest';
import { BrokerError } from '../../../src/errors.js';
import { GUEST_SESSION_KEY } from '../../../src/middleware/guest-session.js';
import { cognitoRouter } from '../../../src/middleware/index.js';
import { createFakeBroker, type FakeBroker } from '../../helpers/fake-broker.js';
import { assertProblem } from '../../helpers/problem-assert.js';

/** The router for user `u1`, with `session` standing in for the app's session. */
function appWith(broker: FakeBroker, session: Record<string, unknown>): Express {
  const app = express();
  app.use((req, _res, next) => {
    (req as { user?: unknown }).user = { id: 'u1' };
    (req as { session?: unknown }).session = session;
    next();
  });
  app.use('/aws', cognitoRouter({ broker, allowedProviders: [] }));
  return app;
}

void it('upgrades the guest a session still holds before serving the user, and then forgets it', async () => {
  const broker = createFakeBroker();
  const { identityId: guestId } = await broker.getGuestCredentials();
  const session: Record<string, unknown> = { [GUEST_SESSION_KEY]: guestId };
  const app = appWith(broker, session);
  broker.failNext('upgradeGuest', new BrokerError('ERR_COGNITO_THROTTLED', 'Throttled.', { retryAfterSeconds: 3 }));
  const throttled = await request(app).get('/aws/credentials');
  assertProblem(throttled, 503, 'ERR_COGNITO_THROTTLED');
  assert.equal(throttled.headers['retry-after'], '3');
  assert.equal(session[GUEST_SESSION_KEY], guestId, 'kept for the next try');
  assert.equal(broker.calls.getCredentials, undefined, 'no identity resolved while the upgrade can succeed');
  const ok = await request(app).get('/aws/credentials');
  assert.equal(ok.status, 200, ok.text);
  assert.equal((ok.body as { identityId: string }).identityId, guestId);
  assert.equal(GUEST_SESSION_KEY in session, false);
  assert.equal((await request(app).get('/aws/token')).status, 200);
  assert.equal(broker.calls.upgradeGuest, 2, 'not tried again once settled');
});

void it('drops a guest that can never be upgraded and serves the user’s own identity', async () => {
  const broker = createFakeBroker();
  const { identityId: guestId } = await broker.getGuestCredentials();
  const session: Record<string, unknown> = { [GUEST_SESSION_KEY]: guestId };
  broker.failNext('upgradeGuest', new BrokerError('ERR_FORBIDDEN', 'The identity is not a guest identity'));
  const res = await request(appWith(broker, session)).get('/aws/token');
  assert.equal(res.status, 200, res.text);
  assert.notEqual((res.body as { identityId: string }).identityId, guestId);
  assert.equal(GUEST_SESSION_KEY in session, false);
});

void it('never tries an upgrade when the session holds no guest', async () => {
  const broker = createFakeBroker();
  const app = appWith(broker, {});
  assert.equal((await request(app).get('/aws/credentials')).status, 200);
  assert.equal((await request(app).get('/aws/identity')).status, 200);
  assert.equal(broker.calls.upgradeGuest, undefined);
});
