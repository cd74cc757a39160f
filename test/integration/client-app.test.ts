// `cognito-identity-broker/client` against the real example app stack (broker → emulator on
// 127.0.0.1) over real HTTP, with Node's fetch and a real AWS SDK client using the provider.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ListIdentityPoolsCommand } from '@aws-sdk/client-cognito-identity';
import { fromCognitoIdentity } from '@aws-sdk/credential-providers';
import request from 'supertest';
import { CLIENT_BUNDLE_PATH } from '../../examples/express-app/app.js';
import { BrokerClientError, fromBroker, fromBrokerToken, type ClientTimers } from '../../src/client/index.js';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';

let stack: AppStack;
let server: Server;
let base: string;
/** Requests that reached the app, by path. */
const hits = new Map<string, number>();

before(async () => {
  stack = await startAppStack();
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    stack.app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await stack.stop();
});

async function bearer(username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** Retry waits skipped (no real time passes in the test); the long timeout stays a real, cleared timer. */
const instantRetries: ClientTimers = {
  setTimeout: (callback, ms) => (ms >= 600_000 ? setTimeout(callback, ms) : setImmediate(callback)),
  clearTimeout: (handle: never) => {
    clearTimeout(handle);
    clearImmediate(handle);
  },
};

void describe('the browser client against the example app', () => {
  void it('the app serves the client as one JavaScript module, built once', async () => {
    const first = await request(stack.app).get(CLIENT_BUNDLE_PATH).expect(200);
    assert.match(String(first.headers['content-type']), /^text\/javascript/);
    assert.equal(first.headers['cache-control'], 'no-cache');
    assert.match(first.text, /export\s*\{[^}]*fromBroker/);
    assert.doesNotMatch(first.text, /\bimport\s*[\s{*("']/);
    const second = await request(stack.app).get(CLIENT_BUNDLE_PATH).expect(200);
    assert.equal(second.text, first.text);
  });

  void it("a real SDK client signs its calls with the broker's credentials, fetched once for concurrent calls", async () => {
    const token = await bearer('alice', 'alice-demo-pass');
    const credentials = fromBroker({
      url: `${base}/aws/credentials`,
      init: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = emulatorClient(stack.emulator(), { credentials });
    const signedWith: string[] = [];
    client.middlewareStack.add(
      (next) => (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        signedWith.push(/Credential=([^/]+)\//.exec(headers.authorization ?? '')?.[1] ?? 'unsigned');
        return next(args);
      },
      { step: 'deserialize', name: 'recordSigningKey' },
    );
    try {
      const before = hits.get('/aws/credentials') ?? 0;
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => client.send(new ListIdentityPoolsCommand({ MaxResults: 10 }))),
      );
      assert.ok(answers.every((a) => a.IdentityPools?.some((p) => p.IdentityPoolName === 'demo-pool')));
      assert.equal((hits.get('/aws/credentials') ?? 0) - before, 1, 'one request for five concurrent calls');
      const expected = await stack.broker.getCredentials('user-alice');
      assert.deepEqual(signedWith, Array(5).fill(expected.accessKeyId));
      const c = await credentials();
      assert.equal(c.identityId, expected.identityId);
      assert.equal(c.sessionToken, expected.sessionToken);
    } finally {
      client.destroy();
    }
  });

  void it('a 401 from the broker reaches the SDK caller as ERR_UNAUTHENTICATED', async () => {
    const credentials = fromBroker({ url: `${base}/aws/credentials` });
    const client = emulatorClient(stack.emulator(), { credentials });
    try {
      await assert.rejects(client.send(new ListIdentityPoolsCommand({ MaxResults: 10 })), (err: unknown) => {
        assert.ok(err instanceof BrokerClientError, String(err));
        assert.equal(err.code, 'ERR_UNAUTHENTICATED');
        assert.equal(err.status, 401);
        assert.equal(err.serverCode, 'ERR_UNAUTHENTICATED');
        return true;
      });
    } finally {
      client.destroy();
    }
  });

  void it("retries the broker's 503 (Cognito throttling) after its Retry-After and gets credentials", async () => {
    const token = await bearer('bob', 'bob-demo-pass');
    stack.emulator().setFault('GetCredentialsForIdentity', { error: 'TooManyRequestsException', count: 1 });
    const statuses: number[] = [];
    const credentials = fromBroker({
      url: `${base}/aws/credentials`,
      init: { headers: { Authorization: `Bearer ${token}` } },
      fetch: async (url: string, init?: RequestInit) => {
        const res = await fetch(url, init);
        statuses.push(res.status);
        if (res.status === 503) assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
        return res;
      },
      timers: instantRetries,
      timeoutMs: 600_000,
    });
    try {
      const c = await credentials();
      assert.deepEqual(statuses, [503, 200]);
      assert.equal(c.accessKeyId, (await stack.broker.getCredentials('user-bob')).accessKeyId);
    } finally {
      stack.emulator().setFault('GetCredentialsForIdentity', null);
    }
  });

  void it("fromBrokerToken gets credentials from Cognito with the SDK's fromCognitoIdentity", async () => {
    const token = await bearer('alice', 'alice-demo-pass');
    const before = stack.emulator().counters().GetCredentialsForIdentity ?? 0;
    const credentials = fromBrokerToken({
      url: `${base}/aws/token`,
      init: { headers: { Authorization: `Bearer ${token}` } },
      fromCognitoIdentity,
      clientConfig: { endpoint: stack.emulator().endpoint },
    });
    const [c, again] = await Promise.all([credentials(), credentials()]);
    assert.equal(again, c);
    assert.equal(c.identityId, (await stack.broker.getToken('user-alice')).identityId);
    assert.match(c.accessKeyId, /^[A-Z0-9]{16,}$/);
    assert.ok(c.expiration.getTime() > Date.now() + 50 * 60_000);
    assert.equal((stack.emulator().counters().GetCredentialsForIdentity ?? 0) - before, 1);
  });
});
