import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CognitoSendClient } from '../../../src/index.js';
import { isBrokerError } from '../../../src/index.js';
import { Upstream, type UpstreamTimers } from '../../../src/broker/upstream.js';
import { logSink } from '../../helpers/log-sink.js';
import { rejectionOf, settle, stateOf } from '../../helpers/broker-fixture.js';
import { sdkError } from '../../helpers/broker-fake-client.js';

/** Timers that fire only when the test says so. */
class ManualTimers implements UpstreamTimers {
  readonly #pending = new Map<number, { fire: () => void; ms: number }>();
  #next = 0;

  setTimeout(fire: () => void, ms: number): unknown {
    this.#next += 1;
    this.#pending.set(this.#next, { fire, ms });
    return this.#next;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Delays of the timers still set. */
  get pending(): number[] {
    return [...this.#pending.values()].map((t) => t.ms);
  }

  fireAll(): void {
    const due = [...this.#pending.values()];
    this.#pending.clear();
    for (const t of due) t.fire();
  }
}

const POOL = 'us-east-1:11111111-2222-3333-4444-555555555555';
const client: CognitoSendClient = { send: () => Promise.reject(new Error('unused')) };

function upstream() {
  const logs = logSink();
  const timers = new ManualTimers();
  let clients = 0;
  const up = new Upstream({
    client: () => {
      clients += 1;
      return client;
    },
    timeoutMs: 5000,
    identityPoolId: POOL,
    log: logs.logger,
    timers,
  });
  return { up, logs, timers, clients: () => clients };
}

/** A send that never settles on its own; records the abort signal it was given. */
function hanging(): { send: (c: CognitoSendClient, s: AbortSignal) => Promise<never>; signal: () => AbortSignal } {
  let seen: AbortSignal | undefined;
  return {
    send: (_c, s) => {
      seen = s;
      return new Promise<never>(() => undefined);
    },
    signal: () => {
      assert.ok(seen !== undefined);
      return seen;
    },
  };
}

void describe('upstream calls', () => {
  void it('counts calls and calls in flight per operation, and hands the client to send', async () => {
    const { up, timers, clients } = upstream();
    let release: (v: string) => void = () => undefined;
    const call = up.call({ operation: 'GetId' }, (c) => {
      assert.equal(c, client);
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    });
    await settle();
    assert.deepEqual(up.stats(), { upstreamCalls: { GetId: 1 }, upstreamErrors: {}, inFlight: 1 });
    assert.deepEqual(timers.pending, [5000], 'one timer of timeoutMs per call');
    release('ok');
    assert.equal(await call, 'ok');
    assert.deepEqual(up.stats(), { upstreamCalls: { GetId: 1 }, upstreamErrors: {}, inFlight: 0 });
    assert.deepEqual(timers.pending, [], 'the timer is cleared');
    assert.equal(clients(), 1);
  });

  void it('aborts the call at the timeout and rejects with a retryable ERR_COGNITO_TIMEOUT (504)', async () => {
    const { up, logs, timers } = upstream();
    const h = hanging();
    const call = up.call({ operation: 'GetOpenIdTokenForDeveloperIdentity' }, h.send);
    await settle();
    assert.equal(await stateOf(call), 'pending');
    timers.fireAll();
    const err = await rejectionOf(call);
    assert.ok(isBrokerError(err));
    assert.deepEqual([err.code, err.status, err.retryable], ['ERR_COGNITO_TIMEOUT', 504, true]);
    assert.equal(h.signal().aborted, true, 'the SDK call is told to stop');
    assert.equal(up.stats().upstreamErrors.GetOpenIdTokenForDeveloperIdentity, 1);
    assert.equal(up.stats().inFlight, 0);
    const [line] = logs.withMsg('cognito call failed');
    assert.equal(line?.code, 'ERR_COGNITO_TIMEOUT');
  });

  void it("rejects with the cancel signal's reason when the entry is dropped, and counts no error", async () => {
    const { up, logs } = upstream();
    const h = hanging();
    const cancel = new AbortController();
    const call = up.call({ operation: 'GetCredentialsForIdentity' }, h.send, cancel.signal);
    await settle();
    const reason = new Error('cache entry dropped while loading');
    cancel.abort(reason);
    assert.equal(await rejectionOf(call), reason);
    assert.equal(h.signal().aborted, true);
    assert.deepEqual(up.stats(), { upstreamCalls: { GetCredentialsForIdentity: 1 }, upstreamErrors: {}, inFlight: 0 });
    assert.equal(logs.withMsg('cognito call cancelled').length, 1);
    assert.equal(logs.withMsg('cognito call failed').length, 0);
  });

  void it('does not wait for a send when the cancel signal has already fired', async () => {
    const { up } = upstream();
    const h = hanging();
    const cancel = new AbortController();
    cancel.abort(new Error('gone'));
    assert.equal(
      ((await rejectionOf(up.call({ operation: 'GetId' }, h.send, cancel.signal))) as Error).message,
      'gone',
    );
  });

  void it('maps SDK errors to BrokerErrors by name and context, keeping the original as cause', async () => {
    const { up, logs } = upstream();
    const throttled = sdkError('TooManyRequestsException');
    const err = await rejectionOf(up.call({ operation: 'GetId' }, () => Promise.reject(throttled)));
    assert.ok(isBrokerError(err));
    assert.deepEqual([err.code, err.status, err.retryable], ['ERR_COGNITO_THROTTLED', 503, true]);
    assert.equal(err.cause, throttled);
    const conflict = await rejectionOf(
      up.call({ operation: 'GetOpenIdTokenForDeveloperIdentity', providerToken: true }, () =>
        Promise.reject(sdkError('ResourceConflictException')),
      ),
    );
    assert.ok(isBrokerError(conflict));
    assert.equal(conflict.code, 'ERR_CONFLICT');
    assert.deepEqual(up.stats().upstreamErrors, { GetId: 1, GetOpenIdTokenForDeveloperIdentity: 1 });
    const lines = logs.withMsg('cognito call failed');
    assert.deepEqual(
      lines.map((l) => [l.operation, l.code, l.errorName, l.retryable]),
      [
        ['GetId', 'ERR_COGNITO_THROTTLED', 'TooManyRequestsException', true],
        ['GetOpenIdTokenForDeveloperIdentity', 'ERR_CONFLICT', 'ResourceConflictException', false],
      ],
    );
  });

  void it('logs a misconfiguration at error level with the pool and the invalid member, never the value', async () => {
    const { up, logs } = upstream();
    const secret = 'eyJsecret-token-value';
    const invalid = sdkError(
      'ValidationException',
      `1 validation error detected: Value '${secret}' at 'logins' failed to satisfy constraint`,
    );
    const err = await rejectionOf(up.call({ operation: 'GetCredentialsForIdentity' }, () => Promise.reject(invalid)));
    assert.ok(isBrokerError(err));
    assert.deepEqual([err.code, err.status], ['ERR_MISCONFIGURED', 500]);
    const [line, ...more] = logs.lines().filter((l) => l.level === 50);
    assert.equal(more.length, 0);
    assert.ok(line !== undefined);
    assert.match(line.msg, /^cognito broker misconfigured/);
    assert.equal(line.identityPoolId, POOL);
    assert.equal(line.member, 'logins');
    assert.equal(line.operation, 'GetCredentialsForIdentity');
    assert.equal(logs.text().includes(secret), false);
  });

  void it('makes the client only when a call is made', async () => {
    const { up, clients } = upstream();
    assert.equal(clients(), 0);
    await up.call({ operation: 'GetId' }, () => Promise.resolve(1));
    await up.call({ operation: 'GetId' }, () => Promise.resolve(2));
    assert.equal(clients(), 2, 'asked each time; create-broker memoises it');
  });
});
