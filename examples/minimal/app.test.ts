// Testing the app above against the emulator with node:test. Run: node --import tsx --test examples/minimal/app.test.ts
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
  const browser = request.agent(createApp(t.broker)); // keeps the session cookie
  await browser.post('/login').send({ username: 'alice', password: 'alice-pass' }).expect(200);
  const res = await browser.get('/aws/credentials').expect(200);
  const body = res.body as { identityId: string; accessKeyId: string };
  assert.equal(body.identityId, await t.broker.lookupIdentity('user-1'));
});

void test('a throttled Cognito is a 503 with Retry-After', async () => {
  const browser = request.agent(createApp(t.broker));
  await browser.post('/login').send({ username: 'alice.work', password: 'alice-work-pass' }).expect(200);
  t.emulator.setFault('GetCredentialsForIdentity', { error: 'TooManyRequestsException', count: 1 });
  const res = await browser.get('/aws/credentials').expect(503);
  assert.ok(res.headers['retry-after'] !== undefined);
  assert.equal(t.emulator.counters().GetCredentialsForIdentity, 2); // alice's, and this one
});
