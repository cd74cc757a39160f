// GET /credentials with a real broker (over the fake Cognito and a manual clock): fresh cached
// credentials are sent as the bytes the broker holds, and every case that needs more than that
// (a first load, a due refresh, an expired entry, other principal tags) still goes through
// getCredentials().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express, { type Express } from 'express';
import request from 'supertest';
import { credentialsBody } from '../../../../src/middleware/routes/credentials.js';
import type { Broker, BrokerOptions, IdentityCredentials } from '../../../../src/index.js';
import { cognitoRouter } from '../../../../src/middleware/index.js';
import { brokerFixture, settle, type BrokerFixture } from '../../../helpers/broker-fixture.js';
import { createFakeBroker } from '../../../helpers/fake-broker.js';

const CREDS = 'GetCredentialsForIdentity';

function appWith(broker: Broker): Express {
  const app = express();
  app.use((req, _res, next) => {
    const id = req.headers['x-test-user'];
    if (typeof id === 'string') (req as { user?: unknown }).user = { id };
    next();
  });
  app.use('/aws', cognitoRouter({ broker, allowedProviders: [] }));
  return app;
}

function setup(options: Partial<BrokerOptions> = {}): BrokerFixture & { app: Express } {
  const fixture = brokerFixture(options);
  return { ...fixture, app: appWith(fixture.broker) };
}

function expected(c: IdentityCredentials): Record<string, string> {
  return { ...credentialsBody(c) };
}

void describe('GET /credentials', () => {
  void it('serves cached credentials as the broker holds them: the same body, headers, a hit and no Cognito call', async () => {
    const { app, broker, fake } = setup();
    const first = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.equal(first.status, 200);
    const before = broker.stats().credentials;
    const second = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, first.body);
    assert.deepEqual(second.body, expected(await broker.getCredentials('alice')));
    for (const res of [first, second]) {
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)));
      assert.equal(res.headers.etag, undefined, 'nothing to revalidate on a no-store response');
    }
    assert.equal(broker.stats().credentials.hits, before.hits + 2, 'the route hit and getCredentials hit');
    assert.equal(fake.count(CREDS), 1);
  });

  void it('never answers 304 to If-None-Match, and answers HEAD with headers only', async () => {
    const { app } = setup();
    const warm = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    const conditional = await request(app)
      .get('/aws/credentials')
      .set('x-test-user', 'alice')
      .set('If-None-Match', '*');
    assert.equal(conditional.status, 200);
    assert.deepEqual(conditional.body, warm.body);
    const head = await request(app).head('/aws/credentials').set('x-test-user', 'alice');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], warm.headers['content-length']);
    assert.equal(head.text, undefined);
  });

  void it('past the refresh point serves the cached credentials once and refreshes them in the background', async () => {
    const { app, clock, fake } = setup();
    const first = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    // Credentials live 3600 s and are served until 300 s (the grace) before: past every refresh point.
    clock.advanceSeconds(3299);
    const during = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.equal(during.status, 200);
    assert.deepEqual(during.body, first.body, 'served without waiting');
    await settle();
    assert.equal(fake.count(CREDS), 2, 'one background refresh');
    const after = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.notEqual(
      (after.body as { accessKeyId: string }).accessKeyId,
      (first.body as { accessKeyId: string }).accessKeyId,
    );
    assert.equal(fake.count(CREDS), 2);
  });

  void it('never serves cached credentials past their validity', async () => {
    const { app, clock, fake } = setup();
    const first = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    clock.advanceSeconds(3301);
    const later = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.equal(later.status, 200);
    assert.notEqual(
      (later.body as { sessionToken: string }).sessionToken,
      (first.body as { sessionToken: string }).sessionToken,
    );
    assert.ok(Date.parse((later.body as { expiration: string }).expiration) > clock.now() + 300_000);
    assert.equal(fake.count(CREDS), 2);
  });

  void it('serves the credentials of the user’s principal tags now, not those cached under other tags', async () => {
    let tier = 'admin';
    const { app } = setup({ principalTags: () => ({ tier }) });
    const admin = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    tier = 'basic';
    const basic = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.notEqual(
      (basic.body as { accessKeyId: string }).accessKeyId,
      (admin.body as { accessKeyId: string }).accessKeyId,
    );
    tier = 'admin';
    const again = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.deepEqual(again.body, admin.body);
  });

  void it('keeps users apart on the cached path', async () => {
    const { app } = setup();
    const alice = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    const bob = await request(app).get('/aws/credentials').set('x-test-user', 'bob');
    const aliceAgain = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    const bobAgain = await request(app).get('/aws/credentials').set('x-test-user', 'bob');
    assert.notEqual((alice.body as { identityId: string }).identityId, (bob.body as { identityId: string }).identityId);
    assert.deepEqual(aliceAgain.body, alice.body);
    assert.deepEqual(bobAgain.body, bob.body);
  });

  void it('answers 401 without a user and a broker error as problem+json on either path', async () => {
    const { app, clock, fake } = setup();
    assert.equal((await request(app).get('/aws/credentials')).status, 401);
    await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    clock.advanceSeconds(3301);
    const err = Object.assign(new Error('Rate exceeded'), {
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 400 },
    });
    fake.failNext(CREDS, err, err, err);
    const res = await request(app).get('/aws/credentials').set('x-test-user', 'alice');
    assert.equal(res.status, 503);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal((res.body as { code: string }).code, 'ERR_COGNITO_THROTTLED');
  });

  void it("uses another make's freshCredentialsBody when it has one, without calling getCredentials", async () => {
    const fake = createFakeBroker();
    const body = Buffer.from(JSON.stringify({ identityId: 'us-east-1:from-the-fast-path' }));
    const seen: string[] = [];
    const broker: Broker = {
      ...fake,
      freshCredentialsBody: (userId) => {
        seen.push(userId);
        return userId === 'u1' ? body : undefined;
      },
    };
    const fast = await request(appWith(broker)).get('/aws/credentials').set('x-test-user', 'u1');
    assert.equal(fast.status, 200);
    assert.deepEqual(fast.body, { identityId: 'us-east-1:from-the-fast-path' });
    assert.equal(fast.headers['cache-control'], 'no-store');
    assert.equal(fake.calls.getCredentials, undefined);
    const slow = await request(appWith(broker)).get('/aws/credentials').set('x-test-user', 'u2');
    assert.equal(slow.status, 200);
    assert.equal(fake.calls.getCredentials, 1, 'undefined falls back to getCredentials');
    assert.deepEqual(seen, ['u1', 'u2']);
  });

  void it('serves a broker of another make through getCredentials with the same body and headers', async () => {
    const broker = createFakeBroker();
    const app = appWith(broker);
    const res = await request(app).get('/aws/credentials').set('x-test-user', 'u1');
    assert.equal(res.status, 200);
    // This fake mints new secrets on every call: compare the shape and the stable fields.
    const want = expected(await broker.getCredentials('u1'));
    assert.deepEqual(Object.keys(res.body as object), Object.keys(want));
    assert.equal((res.body as { identityId: string }).identityId, want.identityId);
    assert.equal((res.body as { accessKeyId: string }).accessKeyId, want.accessKeyId);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers.etag, undefined);
  });
});
