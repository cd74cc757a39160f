// GET /aws/credentials/scoped (the router's `scopedCredentials` option) over HTTP on 127.0.0.1, its
// broker on the emulator (startTestBroker): the scope comes from the app's function of the request;
// the ./client provider fetches them and an AWS SDK client signs with them; a scope the app
// computed badly is the app's 500 before any call; no scope is 403; the per-user budget applies (429).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import express from 'express';
import { fromBroker } from '../../src/client/index.js';
import { brokerErrorHandler, cognitoRouter } from '../../src/index.js';
import { startTestBroker, type TestBroker } from '../../src/testing/index.js';
import { logSink } from '../helpers/log-sink.js';

const uploadPolicyFor = (userId: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::uploads/users/${userId}/*` }],
  });

void describe('GET /aws/credentials/scoped', () => {
  let t: TestBroker;
  let server: Server;
  let base = '';
  const sink = logSink();
  /** A session policy the app computed too long: its text must never reach the log. */
  const longPolicy = JSON.stringify({ Version: '2012-10-17', Sid: 'SECRET-POLICY-TEXT', x: 'a'.repeat(3000) });

  before(async () => {
    t = await startTestBroker({
      pool: { allowClassicFlow: true },
      // Three calls a minute per user, two at once: a first load (token + STS) spends those two.
      broker: { quota: { perUser: { callsPerMinute: 3 } } },
    });
    const app = express();
    // The app's own login, reduced to a header for the test.
    app.use((req, _res, next) => {
      const user = req.get('x-user');
      if (user !== undefined) (req as unknown as { user: { id: string } }).user = { id: user };
      next();
    });
    app.use(
      '/aws',
      cognitoRouter({
        broker: t.broker,
        allowedProviders: [],
        logger: sink.logger,
        scopedCredentials: (req, userId) => {
          if (req.query.kind === 'none') return undefined;
          if (req.query.kind === 'false') return false;
          if (req.query.kind === 'empty') return '';
          if (req.query.kind === 'bad') return { policy: 'not json' };
          if (req.query.kind === 'long') return { policy: longPolicy };
          if (req.query.kind === 'duration') return { durationSeconds: 100 };
          if (req.query.kind === 'arns') return { policyArns: 'arn:aws:iam::123456789012:policy/x' as never };
          if (req.query.kind === 'async')
            return Promise.resolve({ policy: uploadPolicyFor(userId), durationSeconds: 1800 });
          return { policy: uploadPolicyFor(userId), durationSeconds: 900 };
        },
      }),
    );
    app.use(brokerErrorHandler());
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    await t.stop();
  });

  const get = (path: string, user?: string) =>
    fetch(`${base}${path}`, user === undefined ? {} : { headers: { 'x-user': user } });

  void test('the client provider fetches scoped credentials that an SDK client signs with', async () => {
    t.emulator.resetCounters();
    const credentials = fromBroker({
      url: `${base}/aws/credentials/scoped`,
      init: { headers: { 'x-user': 'route-1' } },
    });
    const sts = new STSClient({ region: t.region, endpoint: t.endpoint, credentials, maxAttempts: 1 });
    try {
      const out = await sts.send(new GetCallerIdentityCommand({}));
      assert.match(out.Arn ?? '', /:assumed-role\/.+\/cib-/);
      const c = await credentials();
      assert.equal(c.identityId, (await t.broker.getToken('route-1')).identityId);
    } finally {
      sts.destroy();
    }
    // The same scope again: the cached bytes, no call.
    const res = await get('/aws/credentials/scoped', 'route-1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(t.emulator.counters().AssumeRoleWithWebIdentity, 1);
  });

  void test('an async scope function is awaited', async () => {
    const res = await get('/aws/credentials/scoped?kind=async', 'route-2');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { expiration: string; sessionToken: string };
    assert.ok(body.sessionToken.length > 0);
  });

  void test("a scope the app computed badly is the app's 500 ERR_MISCONFIGURED, logged by its hash; no scope is 403; nobody logged in is 401", async () => {
    t.emulator.resetCounters();
    for (const kind of ['bad', 'long', 'duration', 'arns']) {
      const bad = await get(`/aws/credentials/scoped?kind=${kind}`, 'route-3');
      assert.equal(bad.status, 500, kind);
      assert.equal(((await bad.json()) as { code: string }).code, 'ERR_MISCONFIGURED', kind);
    }
    const logged = sink.withMsg('request failed');
    assert.equal(logged.length, 4);
    for (const line of logged) assert.match(String(line.scope), /^[\w-]{32}$/);
    assert.doesNotMatch(sink.text(), /SECRET-POLICY-TEXT|not json/);
    for (const kind of ['none', 'false', 'empty']) {
      const none = await get(`/aws/credentials/scoped?kind=${kind}`, 'route-3');
      assert.equal(none.status, 403, kind);
      assert.equal(((await none.json()) as { code: string }).code, 'ERR_FORBIDDEN', kind);
    }
    const anon = await get('/aws/credentials/scoped');
    assert.equal(anon.status, 401);
    assert.deepEqual(t.emulator.counters(), {});
  });

  void test("the per-user budget applies to the STS calls a user's requests cause", async () => {
    assert.equal((await get('/aws/credentials/scoped', 'route-4')).status, 200);
    const res = await get('/aws/credentials/scoped?kind=async', 'route-4');
    assert.equal(res.status, 429);
    assert.equal(((await res.json()) as { code: string }).code, 'ERR_RATE_LIMITED');
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  });
});
