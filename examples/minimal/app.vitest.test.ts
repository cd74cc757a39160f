// Testing the app above against the emulator with vitest. Run: npx vitest run --config examples/minimal/vitest.config.ts
import request from 'supertest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestBroker, type TestBroker } from 'cognito-identity-broker/testing';
import { createApp } from './app.js';

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker(); // an emulator on 127.0.0.1 with a seeded pool, and a broker for it
});
afterAll(() => t.stop());

test('a logged-in user gets AWS credentials', async () => {
  const browser = request.agent(createApp(t.broker)); // keeps the session cookie
  await browser.post('/login').send({ username: 'alice', password: 'alice-pass' }).expect(200);
  const res = await browser.get('/aws/credentials').expect(200);
  const body = res.body as { identityId: string; accessKeyId: string };
  expect(body.identityId).toBe(await t.broker.lookupIdentity('user-1'));
});

test('a throttled Cognito is a 503 with Retry-After', async () => {
  const browser = request.agent(createApp(t.broker));
  await browser.post('/login').send({ username: 'alice.work', password: 'alice-work-pass' }).expect(200);
  t.emulator.setFault('GetCredentialsForIdentity', { error: 'TooManyRequestsException', count: 1 });
  const res = await browser.get('/aws/credentials').expect(503);
  expect(res.headers['retry-after']).toBeDefined();
  expect(t.emulator.counters().GetCredentialsForIdentity).toBe(2); // alice's, and this one
});
