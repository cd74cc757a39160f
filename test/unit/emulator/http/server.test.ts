import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultController } from '../../../../src/emulator/faults.js';
import { createRequestHandler, type ApiProtocol } from '../../../../src/emulator/http/server.js';
import { serviceWithPool } from '../service/fixture.js';

async function listen(t: TestContext, protocols: readonly ApiProtocol[]): Promise<string> {
  const { svc } = await serviceWithPool();
  const handler = createRequestHandler(
    {
      regions: { get: () => svc, ensure: () => Promise.resolve(svc) },
      defaultRegion: svc.region,
      faults: new FaultController({ now: () => 0 }),
      now: () => Date.now(),
      jwks: () => ({ keys: [] }),
      issuer: 'https://cognito-identity.amazonaws.com',
      protocols,
    },
    () => '',
  );
  const server = createServer(handler);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

void test('POST / goes to the first protocol that accepts the request, else to AWS JSON 1.1', async (t) => {
  const seen: string[] = [];
  const query: ApiProtocol = {
    name: 'awsQuery',
    accepts: (req: IncomingMessage) => req.headers['content-type'] === 'application/x-www-form-urlencoded',
    handle: (_req: IncomingMessage, res: ServerResponse, body: Buffer) => {
      seen.push(body.toString('utf8'));
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end('<ok/>');
      return Promise.resolve();
    },
  };
  const endpoint = await listen(t, [query]);
  const q = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Action=GetCallerIdentity',
  });
  assert.equal(q.status, 200);
  assert.equal(await q.text(), '<ok/>');
  assert.deepEqual(seen, ['Action=GetCallerIdentity']);

  const json = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityService.GetId' },
    body: '{}',
  });
  assert.equal(json.status, 400);
  assert.equal(json.headers.get('x-amzn-errortype'), 'ValidationException');
  assert.deepEqual(seen, ['Action=GetCallerIdentity']);
});

void test('a protocol that rejects is answered with 500 InternalErrorException', async (t) => {
  const failing: ApiProtocol = {
    name: 'failing',
    accepts: () => true,
    handle: () => Promise.reject(new Error('boom')),
  };
  const endpoint = await listen(t, [failing]);
  const res = await fetch(endpoint, { method: 'POST', body: '{}' });
  assert.equal(res.status, 500);
  assert.equal(res.headers.get('x-amzn-errortype'), 'InternalErrorException');
});
