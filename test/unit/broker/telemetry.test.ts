// Telemetry of one upstream call (outcomes the emulator cannot produce on demand: timeout, cancel,
// a refusal inside the SDK's retries, an unlisted error) with the real OpenTelemetry SDK in memory.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { BrokerError } from '../../../src/errors.js';
import { createBroker, type CognitoSendClient } from '../../../src/index.js';
import { Telemetry } from '../../../src/broker/telemetry.js';
import { Upstream, type UpstreamTimers } from '../../../src/broker/upstream.js';
import { logSink } from '../../helpers/log-sink.js';
import { otelHarness, total } from '../../helpers/otel.js';

const POOL = 'us-east-1:11111111-2222-3333-4444-555555555555';
const OP = 'GetCredentialsForIdentity';
const DURATION = 'cognito_broker.upstream.duration';
const client: CognitoSendClient = { send: () => Promise.reject(new Error('unused')) };

class ManualTimers implements UpstreamTimers {
  readonly #pending = new Map<number, () => void>();
  #next = 0;
  setTimeout(fire: () => void): unknown {
    this.#next += 1;
    this.#pending.set(this.#next, fire);
    return this.#next;
  }
  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }
  fireAll(): void {
    const due = [...this.#pending.values()];
    this.#pending.clear();
    for (const fire of due) fire();
  }
}

function setup() {
  const otel = otelHarness();
  const timers = new ManualTimers();
  const telemetry = new Telemetry({
    meterProvider: otel.meterProvider,
    tracerProvider: otel.tracerProvider,
    region: 'us-east-1',
  });
  const up = new Upstream({
    client: () => client,
    telemetry,
    timeoutMs: 5000,
    identityPoolId: POOL,
    log: logSink().logger,
    timers,
  });
  return { otel, timers, telemetry, up };
}

const never = (): Promise<never> => new Promise<never>(() => undefined);

void describe('telemetry of an upstream call', () => {
  void it('ends the span and records outcome timeout when the call times out', async () => {
    const { otel, timers, up } = setup();
    const pending = up.call({ operation: OP }, never).catch((e: unknown) => e);
    timers.fireAll();
    await pending;
    const points = await otel.collect();
    assert.equal(
      total(points, DURATION, { 'cognito_broker.upstream.outcome': 'timeout', 'error.type': 'TimeoutError' }, 'count'),
      1,
    );
    const [span] = otel.spans();
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'TimeoutError');
    await otel.shutdown();
  });

  void it('records outcome cancelled, not an error, when the cache entry is dropped mid-call', async () => {
    const { otel, up } = setup();
    const cancel = new AbortController();
    const pending = up.call({ operation: OP }, never, cancel.signal).catch((e: unknown) => e);
    cancel.abort(new Error('cache entry dropped while loading'));
    await pending;
    const points = await otel.collect();
    assert.equal(total(points, DURATION, { 'cognito_broker.upstream.outcome': 'cancelled' }, 'count'), 1);
    const [span] = otel.spans();
    assert.equal(span?.status.code, SpanStatusCode.UNSET);
    assert.equal(span.attributes['error.type'], undefined);
    await otel.shutdown();
  });

  void it('counts a quota refusal raised inside the SDK retries, and the refusal hook', async () => {
    const { otel, up, telemetry } = setup();
    // What a governor's per-attempt hook throws: an AbortError-like error carrying the BrokerError.
    const refusal = Object.assign(new Error('Refused by the quota governor'), {
      name: 'AbortError',
      error: new BrokerError('ERR_COGNITO_THROTTLED', 'busy', { retryAfterSeconds: 1 }),
    });
    await up.call({ operation: OP }, () => Promise.reject(refusal)).catch(() => undefined);
    telemetry.refused('GetOpenIdTokenForDeveloperIdentity', 'ERR_RATE_LIMITED');
    const points = await otel.collect();
    assert.equal(
      total(
        points,
        DURATION,
        { 'cognito_broker.upstream.outcome': 'refused', 'error.type': 'ERR_COGNITO_THROTTLED' },
        'count',
      ),
      1,
    );
    const refusals = 'cognito_broker.quota.refusals';
    assert.equal(
      total(points, refusals, { 'rpc.method': OP, 'cognito_broker.quota.reason': 'ERR_COGNITO_THROTTLED' }),
      1,
    );
    assert.equal(total(points, refusals, { 'cognito_broker.quota.reason': 'ERR_RATE_LIMITED' }), 1);
    await otel.shutdown();
  });

  void it('bounds error.type: an unlisted error name becomes the broker code, its message goes nowhere', async () => {
    const { otel, up } = setup();
    const odd = Object.assign(new Error("Value 'alice@example.com' is odd"), {
      name: 'SomethingNew-alice@example.com',
      $metadata: { httpStatusCode: 400, requestId: 'req-1' },
    });
    await up.call({ operation: OP }, () => Promise.reject(odd)).catch(() => undefined);
    const all = JSON.stringify(await otel.everything());
    assert.ok(!all.includes('alice'), all);
    const [span] = otel.spans();
    assert.match(String(span?.attributes['error.type']), /^ERR_[A-Z_]+$/);
    assert.equal(span?.attributes['aws.request_id'], 'req-1');
    await otel.shutdown();
  });

  void it('refuses a meterProvider or tracerProvider that is not one, naming the option', () => {
    const base = { identityPoolId: POOL, developerProviderName: 'login.example.app' };
    assert.throws(() => createBroker({ ...base, meterProvider: {} as never }), {
      name: 'TypeError',
      message: /meterProvider/,
    });
    assert.throws(() => createBroker({ ...base, tracerProvider: 'x' as never }), {
      name: 'TypeError',
      message: /tracerProvider/,
    });
  });
});
