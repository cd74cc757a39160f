// The example app's operations routes: /metrics (the OpenTelemetry Prometheus exporter, pulled on
// scrape), /healthz and /readyz, on the app stack (real broker, real SDK, emulator on 127.0.0.1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { healthRoutes } from '../../examples/express-app/health.js';
import { startMetrics } from '../../examples/express-app/telemetry.js';
import { BrokerError, type Broker } from '../../src/index.js';
import { startAppStack } from '../helpers/app-stack.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

void describe('example app: /metrics, /healthz, /readyz', () => {
  void it('serves the broker metrics in the Prometheus text format, with no secret, id or session', async () => {
    const m = startMetrics();
    const s = await startAppStack({ broker: { meterProvider: m.meterProvider }, app: { metrics: m.handler } });
    const ledger = new SecretLedger();
    try {
      const agent = request.agent(s.app);
      const login = await agent.post('/login').send({ username: 'alice', password: 'alice-demo-pass' });
      assert.equal(login.status, 200);
      ledger.observe(login);
      for (let i = 0; i < 3; i += 1) {
        const res = await agent.get('/aws/credentials');
        assert.equal(res.status, 200);
        ledger.observe(res);
      }
      const token = await agent.get('/aws/token');
      ledger.observe(token);
      const identityId = (token.body as { identityId: string }).identityId;

      const res = await request(s.app).get('/metrics');
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.equal(res.headers['set-cookie'], undefined);
      const text = res.text;
      const lookups = (cache: string, result: string): number => {
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('cognito_broker_cache_lookups_total{') &&
              l.includes(`cognito_broker_cache_name="${cache}"`) &&
              l.includes(`cognito_broker_cache_result="${result}"`),
          );
        return Number(line?.split(' ').at(-1) ?? NaN);
      };
      const stats = s.broker.stats();
      assert.equal(lookups('credentials', 'miss'), stats.credentials.misses);
      assert.equal(
        lookups('credentials', 'hit') +
          lookups('credentials', 'stale_served') +
          lookups('credentials', 'refresh_ahead'),
        stats.credentials.hits,
      );
      assert.ok(stats.credentials.hits >= 2);
      assert.match(
        text,
        /cognito_broker_upstream_duration_count\{[^}]*rpc_method="GetCredentialsForIdentity"[^}]*\} 1\b/,
      );
      assert.match(text, /cognito_broker_upstream_duration_bucket\{[^}]*le="0\.005"/);
      assert.match(text, /# TYPE cognito_broker_cache_entries gauge/);
      assert.match(text, /# UNIT cognito_broker_upstream_duration s\n/);
      ledger.assertNoLeak(text);
      assert.ok(!text.includes(identityId));
      assert.ok(!text.includes('alice'));
    } finally {
      await s.stop();
      await m.shutdown();
    }
  });

  void it('answers /healthz 200 with no Cognito call and /readyz 200 from one preflight, with no session', async () => {
    const s = await startAppStack();
    try {
      const health = await request(s.app).get('/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      assert.equal(health.headers['cache-control'], 'no-store');
      assert.equal(health.headers['set-cookie'], undefined);
      assert.deepEqual(s.broker.stats().upstreamCalls, {}, '/healthz calls nothing');
      const ready = await request(s.app).get('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready' });
      assert.equal(ready.headers['set-cookie'], undefined);
      // The broker's preflight: one DescribeIdentityPool and one GetIdentityPoolRoles, reused by the next probe.
      assert.equal((await request(s.app).get('/readyz')).status, 200);
      assert.deepEqual(s.broker.stats().upstreamCalls, { DescribeIdentityPool: 1, GetIdentityPoolRoles: 1 });
      assert.equal((await request(s.app).get('/metrics')).status, 404);
    } finally {
      await s.stop();
    }
  });

  void it("reports the broker's preflight in /readyz: 503 with its code (never its message) when it fails", async () => {
    let calls = 0;
    let failing = true;
    const s = await startAppStack({ recordForgetUser: true });
    try {
      const broker = {
        ...s.broker,
        preflight: () => {
          calls += 1;
          return failing
            ? Promise.reject(new BrokerError('ERR_MISCONFIGURED', 'pool us-east-1:secret-detail has no roles'))
            : Promise.resolve({ ok: true });
        },
      } as Broker;
      const app = (await import('../../examples/express-app/app.js')).createApp({
        broker,
        sessionSecret: 'observability-test-secret',
        readyCacheMs: 0,
      });
      const down = await request(app).get('/readyz');
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { status: 'not ready', code: 'ERR_MISCONFIGURED' });
      assert.ok(!down.text.includes('secret-detail'));
      failing = false;
      assert.equal((await request(app).get('/readyz')).status, 200);
      assert.equal(calls, 2);
      assert.equal((await request(app).get('/healthz')).status, 200);
    } finally {
      await s.stop();
    }
  });

  void it('reuses a readiness answer for readyCacheMs and shares one check between concurrent probes', async () => {
    let now = 1_000_000;
    let calls = 0;
    let release: () => void = () => undefined;
    const checks = (): number => calls;
    const broker = {
      stats: () => ({}),
      preflight: () => {
        calls += 1;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    } as unknown as Broker;
    const app = express().use(healthRoutes({ broker, readyCacheMs: 5000, now: () => now }));
    const probes = Promise.all([request(app).get('/readyz'), request(app).get('/readyz'), request(app).get('/readyz')]);
    for (let i = 0; calls === 0 && i < 10_000; i += 1) await new Promise((r) => setImmediate(r));
    // Let the three requests arrive before the check settles.
    for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
    release();
    for (const r of await probes) assert.equal(r.status, 200);
    now += 4999;
    assert.equal((await request(app).get('/readyz')).status, 200);
    assert.equal(calls, 1);
    now += 1;
    // then() starts the request (supertest sends on the first then).
    const next = request(app)
      .get('/readyz')
      .then((r) => r);
    for (let i = 0; checks() === 1 && i < 10_000; i += 1) await new Promise((r) => setImmediate(r));
    release();
    assert.equal((await next).status, 200);
    assert.equal(calls, 2);
  });
});
