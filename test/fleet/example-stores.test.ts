// The example app's shared stores failing (Redis away): session and bearer-token requests answer
// 503 with Retry-After and a problem of their own code (ERR_SESSIONS_UNAVAILABLE), never a 500 or the
// store's own message; /readyz reports the fleet's state and is not ready without sessions. Stores that fail on purpose stand in for Redis here.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import session from 'express-session';
import request from 'supertest';
import { createApp } from '../../examples/express-app/app.js';
import type { BearerTokenStore } from '../../examples/express-app/bearer-tokens.js';
import type { FleetHealth } from '../../examples/express-app/health.js';
import { createSealer } from '../../examples/express-app/sealing.js';
import { createFakeBroker } from '../helpers/fake-broker.js';

const SECRET = 'example-stores-session-secret';
const STORE_MESSAGE = 'connect ECONNREFUSED 10.9.8.7:6379 (hunter2)';

/** A session store whose every call fails, as connect-redis's does while Redis is away. */
class FailingStore extends session.Store {
  override get(_sid: string, callback: (err: unknown) => void): void {
    callback(new Error(STORE_MESSAGE));
  }
  override set(_sid: string, _session: session.SessionData, callback?: (err?: unknown) => void): void {
    callback?.(new Error(STORE_MESSAGE));
  }
  override destroy(_sid: string, callback?: (err?: unknown) => void): void {
    callback?.(new Error(STORE_MESSAGE));
  }
}

const failingTokens: BearerTokenStore = {
  issue: () => Promise.reject(new Error(STORE_MESSAGE)),
  resolve: () => Promise.reject(new Error(STORE_MESSAGE)),
  revoke: () => Promise.reject(new Error(STORE_MESSAGE)),
};

/** A session id signed as express-session signs its cookie (cookie-signature: HMAC-SHA256, base64 unpadded). */
function signedSid(sid: string): string {
  return `s:${sid}.${createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '')}`;
}

function assertUnavailable(res: request.Response): void {
  assert.equal(res.status, 503, res.text);
  assert.equal(res.headers['retry-after'], '1');
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = JSON.parse(res.text) as { code: string; status: number; title: string };
  assert.equal(body.code, 'ERR_SESSIONS_UNAVAILABLE', res.text);
  assert.equal(body.status, 503);
  assert.equal(body.title, 'Sessions unavailable');
  assert.ok(!res.text.includes('ECONNREFUSED') && !res.text.includes('hunter2'), res.text);
}

void test('a failing session store answers 503 with Retry-After, not 500, and hides its message', async () => {
  const app = createApp({ broker: createFakeBroker(), sessionSecret: SECRET, sessionStore: new FailingStore() });
  const login = await request(app).post('/login').send({ username: 'alice', password: 'alice-demo-pass' });
  assertUnavailable(login);
  // A request carrying a validly signed session cookie makes the store look the session up.
  const me = await request(app)
    .get('/me')
    .set('Cookie', `demo.sid=${encodeURIComponent(signedSid('some-session-id'))}`);
  assertUnavailable(me);
});

void test('a failing bearer-token store answers 503 at issue and at use', async () => {
  const app = createApp({ broker: createFakeBroker(), sessionSecret: SECRET, bearerTokens: failingTokens });
  assertUnavailable(await request(app).post('/api/tokens').send({ username: 'bob', password: 'bob-demo-pass' }));
  assertUnavailable(
    await request(app)
      .get('/aws/identity')
      .set('Authorization', `Bearer ${'a'.repeat(43)}`),
  );
});

void test("/readyz carries the fleet's state; without the sessions' Redis it is not ready", async () => {
  let health: FleetHealth = { state: 'shared', sessions: 'connected', keys: 'ok' };
  const app = createApp({
    broker: createFakeBroker(),
    sessionSecret: SECRET,
    readyCacheMs: 0,
    fleetHealth: () => health,
  });
  const up = await request(app).get('/readyz');
  assert.equal(up.status, 200);
  assert.deepEqual(up.body, { status: 'ready', fleet: health });
  // The broker's shared tier alone degraded: the broker works per process, the instance serves.
  health = { state: 'degraded', sessions: 'connected', keys: 'ok' };
  const tierDown = await request(app).get('/readyz');
  assert.equal(tierDown.status, 200);
  assert.deepEqual(tierDown.body, { status: 'ready', fleet: health });
  health = { state: 'degraded', sessions: 'disconnected', keys: 'ok' };
  const down = await request(app).get('/readyz');
  assert.equal(down.status, 503);
  assert.deepEqual(down.body, { status: 'not ready', code: 'ERR_SESSIONS_UNAVAILABLE', fleet: health });
  health = { state: 'shared', sessions: 'connected', keys: 'mismatch' };
  const mismatch = await request(app).get('/readyz');
  assert.equal(mismatch.status, 200);
  assert.deepEqual(mismatch.body, { status: 'ready', fleet: health });
});

void test('without fleet mode /readyz answers as before', async () => {
  const app = createApp({ broker: createFakeBroker(), sessionSecret: SECRET });
  const res = await request(app).get('/readyz');
  assert.deepEqual(res.body, { status: 'ready' });
});

/** A session store that never answers, as connect-redis's does while Redis is paused. */
class SilentStore extends session.Store {
  override get(): void {
    // Never calls back.
  }
  override set(): void {
    // Never calls back.
  }
  override destroy(): void {
    // Never calls back.
  }
}

void test('a session store that never answers (a paused Redis): 503 after the store timeout, no hang', async () => {
  const app = createApp({
    broker: createFakeBroker(),
    sessionSecret: SECRET,
    sessionStore: new SilentStore(),
    sessionStoreTimeoutMs: 50,
  });
  const me = await request(app)
    .get('/me')
    .set('Cookie', `demo.sid=${encodeURIComponent(signedSid('some-session-id'))}`)
    .timeout(5000);
  assertUnavailable(me);
});

void test('a bearer-token store over a Redis that never answers: the token check fails within its timeout', async () => {
  const { redisBearerTokenStore } = await import('../../examples/express-app/bearer-tokens.js');
  const never = new Promise<never>(() => undefined);
  const sealer = createSealer({ k1: Buffer.alloc(32, 1).toString('base64') }, undefined, SECRET);
  const store = redisBearerTokenStore({ get: () => never, set: () => never, del: () => never }, 'p:', sealer, 3600, 50);
  await assert.rejects(store.resolve('some-token'), /no answer from Redis within 50 ms/);
  await assert.rejects(store.issue('alice'), /no answer from Redis/);
});
