// Testing an app against the emulator with node:test. Run: node --import tsx --test examples/testing/node-test.test.ts
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import request from 'supertest';
import { startTestBroker, type TestBroker } from 'cognito-identity-broker/testing';
import { createApp } from './app.js';

let t: TestBroker;
before(async () => {
  t = await startTestBroker(); // an emulator on 127.0.0.1 with a seeded pool, and a broker for it
});
after(() => t.stop());

void test('a logged-in user gets AWS credentials', async () => {
  const res = await request(createApp(t.broker)).get('/aws/credentials').set('x-user', 'user-1').expect(200);
  const body = res.body as { identityId: string; accessKeyId: string };
  assert.equal(body.identityId, await t.broker.lookupIdentity('user-1'));
});

void test('a throttled Cognito is a 503 with Retry-After', async () => {
  t.emulator.setFault('GetCredentialsForIdentity', { error: 'TooManyRequestsException', count: 1 });
  const res = await request(createApp(t.broker)).get('/aws/credentials').set('x-user', 'user-2').expect(503);
  assert.ok(res.headers['retry-after'] !== undefined);
  assert.equal(t.emulator.counters().GetCredentialsForIdentity, 2); // user-1's, and this one
});
