// Testing an app against the emulator with vitest. Run: npx vitest run --config examples/testing/vitest.config.ts
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
  const res = await request(createApp(t.broker)).get('/aws/credentials').set('x-user', 'user-1').expect(200);
  const body = res.body as { identityId: string; accessKeyId: string };
  expect(body.identityId).toBe(await t.broker.lookupIdentity('user-1'));
});

test('a throttled Cognito is a 503 with Retry-After', async () => {
  t.emulator.setFault('GetCredentialsForIdentity', { error: 'TooManyRequestsException', count: 1 });
  const res = await request(createApp(t.broker)).get('/aws/credentials').set('x-user', 'user-2').expect(503);
  expect(res.headers['retry-after']).toBeDefined();
  expect(t.emulator.counters().GetCredentialsForIdentity).toBe(2); // user-1's, and this one
});
