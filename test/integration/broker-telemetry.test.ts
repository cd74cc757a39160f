// The broker's OpenTelemetry metrics and spans, read with the real SDK (in-memory reader and span
// exporter), while the broker drives the real AWS SDK against the emulator on 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createBroker, isBrokerError, type Broker, type BrokerOptions } from '../../src/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import { logSink } from '../helpers/log-sink.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { otelHarness, total, type OtelHarness } from '../helpers/otel.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

const DEV = 'login.example.app';
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';
const LOOKUPS = 'cognito_broker.cache.lookups';
const DURATION = 'cognito_broker.upstream.duration';

const suiteLogs = logSink();
const secrets = new SecretLedger();
secrets.checkAfter(() => suiteLogs.text());

interface Fixture {
  readonly emu: RunningEmulator;
  readonly otel: OtelHarness;
  readonly clock: ManualClock;
  readonly broker: Broker;
  stop(): Promise<void>;
}

async function fixture(options: Partial<BrokerOptions> = {}): Promise<Fixture> {
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const emu = await startEmulator({ clock, seed: [{ name: 'telemetry-it', developerProviderName: DEV }] });
  const sdk = emulatorClient(emu);
  const otel = otelHarness();
  const broker = createBroker({
    identityPoolId: emu.pools[0]!.identityPoolId,
    developerProviderName: DEV,
    client: sdk,
    clock,
    logger: suiteLogs.logger,
    meterProvider: otel.meterProvider,
    tracerProvider: otel.tracerProvider,
    ...options,
  });
  return {
    emu,
    otel,
    clock,
    broker,
    async stop() {
      await otel.shutdown();
      sdk.destroy();
      await emu.stop();
    },
  };
}

/** User ids long enough for the ledger (≥ 12 characters), so a leak of one is found. */
function userId(i: number): string {
  return `telemetry-user-${String(i).padStart(4, '0')}@example.com`;
}

async function remembered(broker: Broker, user: string): Promise<void> {
  const t = await broker.getToken(user);
  const c = await broker.getCredentials(user);
  secrets.add(user, t.identityId, t.token, c.accessKeyId, c.secretAccessKey, c.sessionToken);
}

function ancestors(span: ReadableSpan, all: readonly ReadableSpan[]): string[] {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  const names: string[] = [];
  let parent = span.parentSpanContext?.spanId;
  for (let i = 0; parent !== undefined && i < 10; i += 1) {
    const p = byId.get(parent);
    if (p === undefined) break;
    names.push(p.name);
    parent = p.parentSpanContext?.spanId;
  }
  return names;
}

function requestSpan(o: OtelHarness, name: string, fn: () => Promise<unknown>): Promise<unknown> {
  const tracer = o.tracerProvider.getTracer('test-http');
  return tracer.startActiveSpan(name, async (span: Span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

void describe('broker telemetry against the emulator', () => {
  void it('counts the calls the quota governor refuses, as broker.stats() does', async () => {
    const f = await fixture({
      quota: { operations: { [TOKEN]: { rate: 0.001, burst: 1 } }, maxWaitMs: 0, perUser: false },
    });
    try {
      await f.broker.getToken(userId(1));
      const refused = await f.broker.getToken(userId(2)).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(isBrokerError(refused) && refused.code === 'ERR_COGNITO_THROTTLED', String(refused));
      const points = await f.otel.collect();
      assert.equal(f.broker.stats().quotaRefused[TOKEN], 1);
      assert.equal(total(points, 'cognito_broker.quota.refusals', { 'rpc.method': TOKEN }), 1);
      assert.equal(f.emu.counters()[TOKEN], 1, 'the refused call never reached Cognito');
    } finally {
      await f.stop();
    }
  });

  void it('counts cache lookups by result as broker.stats() does', async () => {
    const f = await fixture({ refreshAheadSeconds: 60 });
    try {
      for (let i = 0; i < 5; i += 1) await remembered(f.broker, userId(i));
      for (let round = 0; round < 3; round += 1) {
        for (let i = 0; i < 5; i += 1) await f.broker.getCredentials(userId(i));
      }
      // Five callers of a new user at once: one load, four coalesced onto it.
      await Promise.all(Array.from({ length: 5 }, () => f.broker.getToken(userId(9))));
      // Past the refresh point: the first read starts the refresh, the next ones are served meanwhile.
      f.clock.advance(545_000);
      await Promise.all(Array.from({ length: 3 }, () => f.broker.getToken(userId(0))));
      const busy = (): boolean => {
        const st = f.broker.stats();
        return st.inFlight > 0 || st.tokens.loading > 0 || st.credentials.loading > 0;
      };
      for (let turn = 0; turn < 100_000 && busy(); turn += 1) await new Promise((r) => setImmediate(r));

      const points = await f.otel.collect();
      const stats = f.broker.stats();
      for (const cache of ['token', 'credentials'] as const) {
        const attrs = { 'cognito_broker.cache.name': cache, 'cognito_broker.cache.level': 'memory' };
        const by = (result: string): number =>
          total(points, LOOKUPS, { ...attrs, 'cognito_broker.cache.result': result });
        const s = stats[cache === 'token' ? 'tokens' : 'credentials'];
        assert.equal(by('hit') + by('stale_served') + by('refresh_ahead'), s.hits, `${cache} hits`);
        assert.equal(by('miss'), s.misses, `${cache} misses`);
        assert.equal(by('refresh_ahead'), s.refreshAhead);
        assert.equal(by('stale_served'), s.staleServed);
        assert.equal(total(points, 'cognito_broker.cache.coalesced', attrs), s.coalesced);
        assert.equal(total(points, 'cognito_broker.cache.entries', attrs), s.size);
      }
      assert.equal(stats.tokens.coalesced, 4);
      assert.equal(stats.tokens.refreshAhead, 1);
      assert.equal(stats.tokens.staleServed, 2);
      assert.ok(stats.credentials.hits >= 15);
      assert.equal(total(points, 'cognito_broker.upstream.active_calls'), 0);
      assert.equal(total(points, 'cognito_broker.cache.active_loads'), 0);
      // The emulator's clock is the broker's: no skew.
      assert.equal(total(points, 'cognito_broker.clock.skew'), 0);
      const units = new Map(points.map((p) => [p.name, p.unit]));
      assert.equal(units.get(DURATION), 's');
      assert.equal(units.get(LOOKUPS), '{lookup}');
    } finally {
      await f.stop();
    }
  });

  void it('records every Cognito call in the duration histogram, by operation and outcome, throttles and errors included', async () => {
    const f = await fixture();
    try {
      await remembered(f.broker, userId(1));
      f.emu.setFault(TOKEN, { error: 'TooManyRequestsException', count: 2 });
      for (let i = 0; i < 2; i += 1) {
        const err = await f.broker.getToken(userId(2)).catch((e: unknown) => e);
        assert.ok(isBrokerError(err) && err.code === 'ERR_COGNITO_THROTTLED');
      }
      f.emu.setFault(CREDS, { error: 'InternalErrorException', count: 1 });
      const err = await f.broker.getCredentials(userId(3)).catch((e: unknown) => e);
      assert.ok(isBrokerError(err));
      f.emu.clearFaults();
      await remembered(f.broker, userId(3));

      const points = await f.otel.collect();
      const counters = f.emu.counters();
      const count = (match: Record<string, string>): number => total(points, DURATION, match, 'count');
      assert.equal(count({ 'rpc.method': TOKEN }), counters[TOKEN]);
      assert.equal(count({ 'rpc.method': CREDS }), counters[CREDS]);
      assert.equal(count({ 'rpc.method': TOKEN }), f.broker.stats().upstreamCalls[TOKEN]);
      assert.equal(
        count({
          'rpc.method': TOKEN,
          'cognito_broker.upstream.outcome': 'throttled',
          'error.type': 'TooManyRequestsException',
        }),
        2,
      );
      assert.equal(
        count({
          'rpc.method': CREDS,
          'cognito_broker.upstream.outcome': 'error',
          'error.type': 'InternalErrorException',
        }),
        1,
      );
      assert.equal(
        count({ 'cognito_broker.upstream.outcome': 'ok' }),
        (counters[TOKEN] ?? 0) + (counters[CREDS] ?? 0) - 3,
      );
      const okPoint = points.find(
        (p) => p.name === DURATION && p.attributes['cognito_broker.upstream.outcome'] === 'ok',
      );
      assert.equal(okPoint?.attributes['error.type'], undefined);
      // Seconds: one local call takes well under a minute.
      assert.ok(okPoint !== undefined && okPoint.value > 0 && okPoint.value / (okPoint.count ?? 1) < 60);
    } finally {
      await f.stop();
    }
  });

  void it('puts each Cognito call in a client span under the active request span, with the AWS request id and the error', async () => {
    const f = await fixture();
    try {
      await requestSpan(f.otel, 'GET /aws/credentials', () => remembered(f.broker, userId(4)));
      f.emu.setFault(CREDS, { error: 'NotAuthorizedException', count: 2 });
      f.broker.forgetUser(userId(4));
      await requestSpan(f.otel, 'GET /aws/credentials (refused)', () =>
        f.broker.getCredentials(userId(4)).catch((e: unknown) => e),
      );
      const spans = f.otel.spans();
      const calls = spans.filter((s) => s.name.startsWith('CognitoIdentity/'));
      assert.ok(calls.length >= 4);
      for (const s of calls) {
        assert.equal(s.kind, SpanKind.CLIENT);
        assert.equal(s.attributes['rpc.system'], 'aws-api');
        assert.equal(s.attributes['rpc.service'], 'CognitoIdentity');
        assert.equal(s.name, `CognitoIdentity/${String(s.attributes['rpc.method'])}`);
        assert.match(String(s.attributes['aws.request_id']), /^[0-9a-f-]{36}$/);
        const chain = ancestors(s, spans);
        assert.ok(chain.at(-1)?.startsWith('GET /aws/credentials'), `span ${s.name} under ${chain.join(' < ')}`);
        assert.equal(s.spanContext().traceId, spans.find((p) => p.name === chain.at(-1))?.spanContext().traceId);
      }
      const failed = calls.filter((s) => s.status.code === SpanStatusCode.ERROR);
      assert.ok(failed.length >= 1);
      for (const s of failed) {
        assert.equal(s.attributes['error.type'], 'NotAuthorizedException');
        assert.equal(s.status.message, 'NotAuthorizedException');
        assert.equal(s.events.length, 0);
      }
    } finally {
      await f.stop();
    }
  });

  void it('links a caller that joins a running load to the span of that load', async () => {
    const f = await fixture();
    try {
      const user = userId(5);
      f.emu.setFault(TOKEN, { latencyMs: 50 });
      await Promise.all([
        requestSpan(f.otel, 'GET /aws/token (first)', () => f.broker.getToken(user)),
        requestSpan(f.otel, 'GET /aws/token (second)', () => f.broker.getToken(user)),
      ]);
      const spans = f.otel.spans();
      const loads = spans.filter((s) => s.name === 'cognito_broker.cache.load');
      const waits = spans.filter((s) => s.name === 'cognito_broker.cache.wait');
      assert.equal(loads.length, 1);
      assert.equal(waits.length, 1);
      const load = loads[0]!;
      const wait = waits[0]!;
      assert.deepEqual(ancestors(load, spans), ['GET /aws/token (first)']);
      assert.deepEqual(ancestors(wait, spans), ['GET /aws/token (second)']);
      assert.equal(wait.links.length, 1);
      assert.equal(wait.links[0]!.context.spanId, load.spanContext().spanId);
      assert.equal(wait.links[0]!.context.traceId, load.spanContext().traceId);
      assert.equal(f.broker.stats().tokens.coalesced, 1);
      const call = spans.find((s) => s.name === `CognitoIdentity/${TOKEN}`);
      assert.deepEqual(ancestors(call!, spans), ['cognito_broker.cache.load', 'GET /aws/token (first)']);
    } finally {
      await f.stop();
    }
  });

  void it('exports no user id, identity id, token or key, and only low-cardinality attributes', async () => {
    const f = await fixture();
    try {
      const users = Array.from({ length: 20 }, (_, i) => userId(100 + i));
      await requestSpan(f.otel, 'GET /aws/credentials', () => Promise.all(users.map((u) => remembered(f.broker, u))));
      await Promise.all(users.map((u) => f.broker.getCredentials(u)));
      f.emu.setFault(TOKEN, { error: 'TooManyRequestsException', count: 1 });
      await f.broker.getToken(userId(200)).catch(() => undefined);
      f.emu.clearFaults();
      await f.broker.describeIdentity(users[0]!);
      await f.broker.lookupIdentity(users[1]!);

      const everything = await f.otel.everything();
      const text = JSON.stringify(everything);
      secrets.assertNoLeak(text);
      for (const u of users) assert.ok(!text.includes(u), 'a user id is in an attribute');
      assert.ok(!/[a-z]{2}-[a-z]+-\d:[0-9a-f-]{36}/.test(text.replace(f.broker.identityPoolId, '')), 'an identity id');

      // High cardinality: no attribute key takes more values than a handful (20 users were served).
      const values = new Map<string, Set<string>>();
      for (const [k, v] of everything) {
        if (k === 'aws.request_id') continue; // one per call on spans only, never on a metric
        const set = values.get(k) ?? new Set<string>();
        set.add(JSON.stringify(v));
        values.set(k, set);
      }
      for (const [k, set] of values) assert.ok(set.size <= 10, `${k} has ${set.size} values: ${[...set].join(', ')}`);
      const metricKeys = new Set((await f.otel.collect()).flatMap((p) => Object.keys(p.attributes)));
      assert.ok(!metricKeys.has('aws.request_id'));
    } finally {
      await f.stop();
    }
  });

  void it('records no span on a cache hit (the hit path only bumps the cache counters)', async () => {
    const f = await fixture();
    try {
      await remembered(f.broker, userId(400));
      const spansBefore = f.otel.spans().length;
      const before = await f.otel.collect();
      await requestSpan(f.otel, 'GET /aws/credentials (warm)', async () => {
        for (let i = 0; i < 100; i += 1) await f.broker.getCredentials(userId(400));
      });
      assert.equal(f.otel.spans().length, spansBefore + 1); // the request span only
      const after = await f.otel.collect();
      assert.equal(total(after, DURATION, {}, 'count'), total(before, DURATION, {}, 'count'));
      const hits = { 'cognito_broker.cache.name': 'credentials', 'cognito_broker.cache.result': 'hit' };
      assert.equal(total(after, LOOKUPS, hits) - total(before, LOOKUPS, hits), 100);
    } finally {
      await f.stop();
    }
  });

  void it('records nothing and fails nothing with no provider registered (the global no-op API)', async () => {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
    const emu = await startEmulator({ clock, seed: [{ name: 'telemetry-noop', developerProviderName: DEV }] });
    const sdk = emulatorClient(emu);
    try {
      const broker = createBroker({
        identityPoolId: emu.pools[0]!.identityPoolId,
        developerProviderName: DEV,
        client: sdk,
        clock,
      });
      const span = trace.getActiveSpan();
      assert.equal(span, undefined);
      await context.with(context.active(), () => remembered(broker, userId(300)));
      assert.equal(broker.stats().upstreamCalls[TOKEN], 1);
    } finally {
      sdk.destroy();
      await emu.stop();
    }
  });
});
