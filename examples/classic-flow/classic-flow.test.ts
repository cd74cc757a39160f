// The classic-flow recipes against the emulator. Run: node --import tsx --test examples/classic-flow/classic-flow.test.ts
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import request from 'supertest';
import { startTestBroker, type TestBroker } from 'cognito-identity-broker/testing';
import { createUploadsApp, uploadPolicyFor } from './uploads.js';
import { runNightlyExport } from './worker.js';

let t: TestBroker;
before(async () => {
  t = await startTestBroker({ pool: { allowClassicFlow: true } }); // a pool that allows the classic flow
});
after(() => t.stop());

void test('a user gets 15-minute upload credentials for their own prefix, and no other credentials', async () => {
  const app = createUploadsApp(t.broker);
  const res = await request(app).get('/aws/credentials/scoped').set('x-user', 'user-1');
  assert.equal(res.status, 200);
  const body = res.body as { identityId: string; expiration: string };
  assert.equal(body.identityId, await t.broker.lookupIdentity('user-1'));
  assert.ok(Date.parse(body.expiration) - Date.now() <= 900_000);
  const resource = (JSON.parse(uploadPolicyFor(body.identityId)) as { Statement: { Resource: string }[] }).Statement[0]
    ?.Resource;
  assert.equal(resource, `arn:aws:s3:::my-app-uploads/users/${body.identityId}/*`);
  // Neither the role without a session policy nor a token to take to STS directly.
  await request(app).get('/aws/credentials').set('x-user', 'user-1').expect(404);
  await request(app).get('/aws/token').set('x-user', 'user-1').expect(404);
});

void test('a worker gets 12-hour credentials from one broker call', async () => {
  const line = await runNightlyExport(t.broker, 'user-2', { endpoint: t.endpoint });
  assert.match(line, /assumed-role\/.+\/nightly-export until/);
  assert.equal(t.emulator.counters().AssumeRoleWithWebIdentity, 2); // user-1's, and this one
});
