import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BrokerClientError,
  fromBroker,
  type BrokerClientErrorCode,
  type BrokerClientOptions,
  type BrokerCredentials,
} from '../../../src/client/index.js';
import {
  drive,
  fakeFetch,
  flush,
  httpDate,
  ManualClock,
  ManualTimers,
  response,
  type FetchHandler,
} from '../../helpers/client-fakes.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;
const URL = 'https://app.example/aws/credentials';
const CODES: ReadonlySet<BrokerClientErrorCode> = new Set([
  'ERR_UNAUTHENTICATED',
  'ERR_UNAVAILABLE',
  'ERR_HTTP',
  'ERR_BAD_RESPONSE',
  'ERR_NETWORK',
  'ERR_TIMEOUT',
  'ERR_COGNITO',
]);

/** The body of `GET /aws/credentials`, numbered so that refreshes are told apart. */
function body(n: number, expiration: number): Record<string, string> {
  return {
    identityId: 'us-east-1:00000000-0000-4000-8000-000000000001',
    accessKeyId: `ASIAEXAMPLE${n}`,
    secretAccessKey: `secret-access-key-${n}-wJalrXUtnFEMI`,
    sessionToken: `session-token-${n}-IQoJb3JpZ2luX2VjEJr`,
    expiration: new Date(expiration).toISOString(),
  };
}

function setup(handler: FetchHandler, options: Partial<BrokerClientOptions> = {}, clock = new ManualClock(T0)) {
  const timers = new ManualTimers(clock);
  const { fetch, calls } = fakeFetch(handler);
  const provider = fromBroker({ url: URL, fetch, clock, timers, ...options });
  return { clock, timers, calls, provider };
}

/** A broker whose clock is `offsetMs` ahead of the client's, issuing hour-long credentials. */
function broker(clock: ManualClock, offsetMs = 0): FetchHandler {
  return (_call, n) => {
    const serverNow = clock.now() + offsetMs;
    return response(200, body(n, serverNow + HOUR), { date: httpDate(serverNow) });
  };
}

async function rejection(promise: Promise<unknown>): Promise<BrokerClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BrokerClientError, `a BrokerClientError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

void describe('fromBroker', () => {
  void it('returns the credentials of GET /aws/credentials, with the identity id and the expiration in local time', async () => {
    const { provider, calls } = setup(() => response(200, body(1, T0 + HOUR), { date: httpDate(T0) }));
    const c = await provider();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.url, URL);
    assert.equal(c.accessKeyId, 'ASIAEXAMPLE1');
    assert.equal(c.secretAccessKey, 'secret-access-key-1-wJalrXUtnFEMI');
    assert.equal(c.sessionToken, 'session-token-1-IQoJb3JpZ2luX2VjEJr');
    assert.equal(c.identityId, 'us-east-1:00000000-0000-4000-8000-000000000001');
    assert.ok(c.expiration instanceof Date);
    // `Date` has whole seconds: the broker may be up to 1 s ahead, so the expiry is taken 1 s early.
    assert.equal(c.expiration.getTime(), T0 + HOUR - 1000);
  });

  void it('serves any number of concurrent calls with one request', async () => {
    const clock = new ManualClock(T0);
    const s = setup(broker(clock), {}, clock);
    const all = await Promise.all(Array.from({ length: 25 }, () => s.provider()));
    assert.equal(s.calls.length, 1);
    assert.ok(all.every((c) => c === all[0]));
  });

  void it('serves cached credentials until expiryMarginSeconds before they expire, then fetches once', async () => {
    // No Date header: no skew.
    const s = setup((_c, n) => response(200, body(n, T0 + n * HOUR)));
    assert.equal((await s.provider()).accessKeyId, 'ASIAEXAMPLE1');
    s.clock.set(T0 + HOUR - 60_000 - 1);
    assert.equal((await s.provider()).accessKeyId, 'ASIAEXAMPLE1');
    assert.equal(s.calls.length, 1);
    s.clock.set(T0 + HOUR - 60_000);
    const [a, b] = await Promise.all([s.provider(), s.provider()]);
    assert.equal(a.accessKeyId, 'ASIAEXAMPLE2');
    assert.equal(b, a);
    assert.equal(s.calls.length, 2);
  });

  void it('honours expiryMarginSeconds', async () => {
    const s = setup((_c, n) => response(200, body(n, T0 + n * HOUR)), { expiryMarginSeconds: 300 });
    await s.provider();
    s.clock.set(T0 + HOUR - 300_001);
    await s.provider();
    assert.equal(s.calls.length, 1);
    s.clock.set(T0 + HOUR - 300_000);
    await s.provider();
    assert.equal(s.calls.length, 2);
  });

  for (const [label, offsetMs] of [
    ['10 min ahead', 600_000],
    ['10 min behind', -600_000],
  ] as const) {
    void it(`refreshes on the broker's clock, read from its Date header, when it is ${label}`, async () => {
      const clock = new ManualClock(T0);
      const s = setup(broker(clock, offsetMs), {}, clock);
      const c = await s.provider();
      // Expires an hour after the broker's now; the client's reading of it is 1 s early at most.
      const localExpiry = T0 + HOUR - 1000;
      assert.equal(c.expiration.getTime(), localExpiry);
      s.clock.set(localExpiry - 60_000 - 1);
      await s.provider();
      assert.equal(s.calls.length, 1, 'still fresh on the broker clock');
      s.clock.set(localExpiry - 60_000);
      assert.equal((await s.provider()).accessKeyId, 'ASIAEXAMPLE2');
      assert.equal(s.calls.length, 2);
    });
  }

  void it('keeps short-lived credentials for half their remaining life instead of fetching on every call', async () => {
    const s = setup(() => response(200, body(1, s.clock.now() + 30_000)));
    await s.provider();
    s.clock.advance(14_999);
    await s.provider();
    assert.equal(s.calls.length, 1);
    s.clock.advance(1);
    await s.provider();
    assert.equal(s.calls.length, 2);
  });

  for (const status of [503, 429]) {
    void it(`retries a ${status} after its Retry-After and succeeds`, async () => {
      const s = setup((_c, n) =>
        n === 1
          ? response(status, { code: 'ERR_COGNITO_THROTTLED' }, { 'retry-after': '2' })
          : response(200, body(n, T0 + HOUR)),
      );
      const c = await drive(s.provider(), s.timers);
      assert.equal(c.accessKeyId, 'ASIAEXAMPLE2');
      assert.equal(s.calls.length, 2);
      assert.equal(s.clock.now(), T0 + 2000, 'waited exactly Retry-After');
      assert.equal(s.timers.pending, 0, 'no timer left behind');
    });
  }

  void it('waits 1 s on a 503 without Retry-After', async () => {
    const s = setup((_c, n) => (n === 1 ? response(503, 'Service Unavailable') : response(200, body(n, T0 + HOUR))));
    await drive(s.provider(), s.timers);
    assert.equal(s.clock.now(), T0 + 1000);
  });

  void it("reads a Retry-After HTTP date against the broker's Date", async () => {
    // The broker is 1 h ahead; its Retry-After date is 5 s after its own now.
    const s = setup((_c, n) =>
      n === 1
        ? response(503, {}, { date: httpDate(T0 + HOUR), 'retry-after': httpDate(T0 + HOUR + 5000) })
        : response(200, body(n, T0 + 2 * HOUR)),
    );
    await drive(s.provider(), s.timers);
    assert.equal(s.calls.length, 2);
    // 5 s from the Date, less the 1 s the Date may be early by.
    assert.equal(s.clock.now(), T0 + 4000);
  });

  void it('gives up after maxAttempts with ERR_UNAVAILABLE, the status, the server code and Retry-After', async () => {
    const s = setup(() => response(503, { code: 'ERR_COGNITO_THROTTLED', status: 503 }, { 'retry-after': '1' }));
    const err = await rejection(drive(s.provider(), s.timers));
    assert.equal(s.calls.length, 3);
    assert.equal(err.code, 'ERR_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.equal(err.serverCode, 'ERR_COGNITO_THROTTLED');
    assert.equal(err.retryAfterSeconds, 1);
    assert.match(err.message, /\(HTTP 503\)$/);
  });

  void it('never waits past retryBudgetSeconds: a long Retry-After fails at once', async () => {
    const s = setup(() => response(429, { code: 'ERR_RATE_LIMITED' }, { 'retry-after': '30' }));
    const err = await rejection(drive(s.provider(), s.timers));
    assert.equal(s.calls.length, 1);
    assert.equal(err.code, 'ERR_UNAVAILABLE');
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterSeconds, 30);
    assert.equal(s.clock.now(), T0, 'no wait');
  });

  void it('counts the waits against the budget: Retry-After 4 with a 10 s budget makes 3 attempts', async () => {
    const s = setup(() => response(503, {}, { 'retry-after': '4' }), { maxAttempts: 10, retryBudgetSeconds: 10 });
    await rejection(drive(s.provider(), s.timers));
    assert.equal(s.calls.length, 3);
    assert.equal(s.clock.now(), T0 + 8000);
  });

  void it('rejects a 401 with ERR_UNAUTHENTICATED, and asks again on the next call', async () => {
    const s = setup((_c, n) =>
      n === 1
        ? response(401, { code: 'ERR_UNAUTHENTICATED', status: 401 }, { 'www-authenticate': 'Bearer realm="aws"' })
        : response(200, body(n, T0 + HOUR)),
    );
    const err = await rejection(s.provider());
    assert.equal(err.code, 'ERR_UNAUTHENTICATED');
    assert.equal(err.status, 401);
    assert.equal(err.serverCode, 'ERR_UNAUTHENTICATED');
    assert.equal(err.name, 'BrokerClientError');
    assert.equal((await s.provider()).accessKeyId, 'ASIAEXAMPLE2', 'errors are not cached');
  });

  for (const [status, payload, serverCode] of [
    [500, { code: 'ERR_INTERNAL' }, 'ERR_INTERNAL'],
    [403, { code: 'ERR_FORBIDDEN' }, 'ERR_FORBIDDEN'],
    [404, '<html>not here</html>', undefined],
    [502, { code: 'not a code <script>' }, undefined],
    [400, { code: 42 }, undefined],
    [302, {}, undefined],
  ] as const) {
    void it(`rejects a ${status} with ERR_HTTP and the status (server code ${String(serverCode)})`, async () => {
      const s = setup(() => response(status, payload));
      const err = await rejection(s.provider());
      assert.equal(err.code, 'ERR_HTTP');
      assert.equal(err.status, status);
      assert.equal(err.serverCode, serverCode);
    });
  }

  const good = body(1, T0 + HOUR);
  const malformed: readonly (readonly [string, unknown])[] = [
    ['text that is not JSON', 'not json'],
    ['JSON null', 'null'],
    ['a JSON string', '"ASIA"'],
    ['an array', [good]],
    ['an empty object', {}],
    ...(['identityId', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'expiration'] as const).flatMap(
      (k): (readonly [string, unknown])[] => [
        [`no ${k}`, { ...good, [k]: undefined }],
        [`an empty ${k}`, { ...good, [k]: '' }],
        [`a number as ${k}`, { ...good, [k]: 12 }],
      ],
    ),
    ['an expiration that is not a date', { ...good, expiration: 'tomorrow-ish' }],
    ['credentials that have already expired', { ...good, expiration: new Date(T0 - 1).toISOString() }],
  ];
  for (const [label, payload] of malformed) {
    void it(`rejects a 200 with ${label} as ERR_BAD_RESPONSE, naming no value`, async () => {
      const s = setup(() => response(200, payload));
      const err = await rejection(s.provider());
      assert.equal(err.code, 'ERR_BAD_RESPONSE');
      for (const v of Object.values(good)) assert.ok(!err.message.includes(v), err.message);
      // Not cached: the next call asks again.
      await rejection(s.provider());
      assert.equal(s.calls.length, 2);
    });
  }

  void it('rejects a network failure with ERR_NETWORK and keeps it as the cause', async () => {
    const failure = new TypeError('Failed to fetch');
    const s = setup(() => {
      throw failure;
    });
    const err = await rejection(s.provider());
    assert.equal(err.code, 'ERR_NETWORK');
    assert.equal(err.status, undefined);
    assert.equal(err.cause, failure);
  });

  void it('rejects an answer that does not come within timeoutMs with ERR_TIMEOUT, and aborts the request', async () => {
    let signal: AbortSignal | undefined;
    const s = setup(
      (call) => {
        signal = call.init?.signal as AbortSignal;
        return new Promise(() => undefined);
      },
      { timeoutMs: 5000 },
    );
    const err = await rejection(drive(s.provider(), s.timers));
    assert.equal(err.code, 'ERR_TIMEOUT');
    assert.equal(s.clock.now(), T0 + 5000);
    assert.equal(signal?.aborted, true);
  });

  void it('counts reading the body in the timeout', async () => {
    const s = setup(
      () => ({ status: 200, headers: new Headers(), json: () => new Promise<unknown>(() => undefined) }),
      { timeoutMs: 2000 },
    );
    assert.equal((await rejection(drive(s.provider(), s.timers))).code, 'ERR_TIMEOUT');
  });

  void it("sends the app's init as given, and calls fetch unbound", async () => {
    const init = { credentials: 'include', headers: { Authorization: 'Bearer opaque-token-1234567890' } } as const;
    const s = setup(() => response(200, body(1, T0 + HOUR)), { init });
    await s.provider();
    const call = s.calls[0]!;
    assert.equal(call.thisArg, undefined, "the platform's fetch refuses another this");
    const sent = call.init ?? {};
    assert.equal(sent.credentials, 'include');
    assert.deepEqual(sent.headers, init.headers);
    assert.ok(sent.signal instanceof AbortSignal);
  });

  void it("lets the app's own abort signal win", async () => {
    const own = new AbortController().signal;
    const s = setup(() => response(200, body(1, T0 + HOUR)), { init: { signal: own } });
    await s.provider();
    assert.equal(s.calls[0]!.init?.signal, own);
  });

  void it('clear() forgets the credentials, and a refresh running at the time is not cached', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = setup(async (_c, n) => {
      if (n === 2) await gate;
      return response(200, body(n, T0 + HOUR));
    });
    await s.provider();
    s.provider.clear();
    const running = s.provider();
    await flush();
    s.provider.clear();
    release();
    assert.equal((await running).accessKeyId, 'ASIAEXAMPLE2', 'the caller still gets its answer');
    assert.equal((await s.provider()).accessKeyId, 'ASIAEXAMPLE3', 'but it was not cached');
    assert.equal(s.calls.length, 3);
  });

  void it('uses the global fetch, Date and timers by default', async () => {
    const realFetch = globalThis.fetch;
    const { fetch, calls } = fakeFetch(() => response(200, body(1, Date.now() + HOUR)));
    globalThis.fetch = fetch as typeof globalThis.fetch;
    try {
      const provider = fromBroker({ url: '/aws/credentials' });
      assert.equal((await provider()).accessKeyId, 'ASIAEXAMPLE1');
      assert.equal(calls[0]!.url, '/aws/credentials');
      assert.equal(calls[0]!.thisArg, undefined);
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  for (const [options, message] of [
    [{}, /^url must be a non-empty string$/],
    [{ url: '' }, /^url must be/],
    [{ url: 42 }, /^url must be/],
    [{ url: '/x', fetch: 'fetch' }, /^fetch must be a function$/],
    [{ url: '/x', init: 'include' }, /^init must be an object$/],
    [{ url: '/x', clock: {} }, /^clock must be an object with a now\(\) method$/],
    [{ url: '/x', clock: { now: 0 } }, /^clock must be/],
    [{ url: '/x', timers: { setTimeout } }, /^timers must be/],
    [{ url: '/x', expiryMarginSeconds: -1 }, /^expiryMarginSeconds must be a number in \[0, 3600\]$/],
    [{ url: '/x', expiryMarginSeconds: Number.NaN }, /^expiryMarginSeconds must be/],
    [{ url: '/x', expiryMarginSeconds: '60' }, /^expiryMarginSeconds must be/],
    [{ url: '/x', maxAttempts: 0 }, /^maxAttempts must be an integer in \[1, 10\]$/],
    [{ url: '/x', maxAttempts: 1.5 }, /^maxAttempts must be/],
    [{ url: '/x', retryBudgetSeconds: 301 }, /^retryBudgetSeconds must be a number in \[0, 300\]$/],
    [{ url: '/x', timeoutMs: 0 }, /^timeoutMs must be an integer in \[1, 600000\]$/],
  ] as const) {
    void it(`refuses ${JSON.stringify(options)} with a TypeError naming the option`, () => {
      const { fetch } = fakeFetch(() => response(200, {}));
      assert.throws(
        () => fromBroker({ fetch, ...(options as unknown as BrokerClientOptions) }),
        (err: unknown) => err instanceof TypeError && message.test(err.message),
      );
    });
  }

  void it('makes no request at construction', () => {
    const s = setup(() => response(200, body(1, T0 + HOUR)));
    assert.equal(s.calls.length, 0);
    assert.equal(s.timers.pending, 0);
  });
});

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
// Secrets look like tokens: long, and with lower-case letters (a problem `code` is ERR_[A-Z_]).
const secret = fc.stringMatching(/^[a-z][A-Za-z0-9/+=._-]{15,60}$/);

void describe('fromBroker under arbitrary answers', () => {
  void it('resolves with complete, unexpired credentials or rejects with a coded BrokerClientError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504),
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              identityId: fc.oneof(fc.string(), fc.constant('us-east-1:1')),
              accessKeyId: fc.oneof(fc.string(), fc.integer()),
              secretAccessKey: fc.string(),
              sessionToken: fc.string(),
              expiration: fc.oneof(
                fc.string(),
                fc.integer({ min: -HOUR, max: 2 * HOUR }).map((d) => new Date(T0 + d).toISOString()),
              ),
              code: fc.string(),
            },
            { requiredKeys: [] },
          ),
        ),
        fc.dictionary(fc.constantFrom('date', 'retry-after'), fc.oneof(fc.string(), fc.nat().map(String))),
        async (status, payload, headers) => {
          const safeHeaders = Object.fromEntries(
            Object.entries(headers).filter(([, v]) => /^[\x20-\x7e]*$/.test(v) && v.trim() === v),
          );
          const s = setup(() => response(status, status === 204 ? '' : payload, safeHeaders), {
            retryBudgetSeconds: 300,
          });
          let c: BrokerCredentials;
          try {
            c = await drive(s.provider(), s.timers, 20);
          } catch (err) {
            assert.ok(err instanceof BrokerClientError, String(err));
            assert.ok(CODES.has(err.code), err.code);
            assert.ok(s.calls.length <= 3, 'at most maxAttempts requests');
            return;
          }
          for (const k of ['identityId', 'accessKeyId', 'secretAccessKey', 'sessionToken'] as const) {
            assert.equal(typeof c[k], 'string');
            assert.notEqual(c[k], '');
          }
          assert.ok(c.expiration.getTime() > s.clock.now());
        },
      ),
      { numRuns: RUNS },
    );
  });

  void it('puts no secret of the answer, the request or the failure in an error message', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(200, 400, 401, 403, 429, 500, 503),
        fc.array(secret, { minLength: 6, maxLength: 6 }),
        fc.constantFrom('body', 'network'),
        async (status, secrets, failure) => {
          const [token, key, session, cookie, bearer, detail] = secrets as [string, ...string[]];
          const s = setup(
            () => {
              if (failure === 'network') throw new TypeError(`connect failed for ${bearer}`);
              return response(
                status,
                // A 200 whose expiration is broken carries every other secret.
                status === 200
                  ? {
                      identityId: token,
                      accessKeyId: key,
                      secretAccessKey: key,
                      sessionToken: session,
                      expiration: detail,
                    }
                  : { code: 'ERR_INTERNAL', detail, title: token, token, secretAccessKey: key, sessionToken: session },
                { 'set-cookie': `sid=${cookie}`, 'retry-after': '1' },
              );
            },
            {
              url: `https://app.example/aws/credentials?access_token=${bearer}`,
              init: { headers: { Authorization: `Bearer ${bearer}`, Cookie: `sid=${cookie}` } },
              maxAttempts: 1,
            },
          );
          const err = await rejection(drive(s.provider(), s.timers));
          // Every own property but `cause` (the fetch's own error, which the app may log as it likes).
          const own = Object.fromEntries(Object.entries(err).filter(([k]) => k !== 'cause'));
          const visible = [err.message, String(err), err.stack ?? '', JSON.stringify(own)].join('\n');
          for (const x of secrets) assert.ok(!visible.includes(x), `the error shows a secret: ${visible}`);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
