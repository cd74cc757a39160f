import { BrokerClientError } from './errors.js';
import { globals, type ResolvedClientOptions } from './options.js';

/** A 2xx JSON object from the broker, and how far the broker's clock is ahead of ours. */
export interface BrokerAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** Broker time minus local time, milliseconds (0 without a readable `Date` header). */
  readonly skewMs: number;
}

interface Attempt {
  readonly status: number;
  readonly headers: BrokerResponseHeaders;
  readonly body: unknown;
}

interface BrokerResponseHeaders {
  get(name: string): string | null;
}

const SERVER_CODE = /^ERR_[A-Z_]{1,60}$/;

/** One `fetch` and its body, within `timeoutMs`; a timed-out request is aborted. */
function attempt(o: ResolvedClientOptions): Promise<Attempt> {
  const controller = globals.AbortController && new globals.AbortController();
  // Called unbound: the platform's fetch and timers refuse another `this` ("Illegal invocation").
  const { fetch, setTimeout, clearTimeout } = o;
  return new Promise<Attempt>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller?.abort();
      reject(new BrokerClientError('ERR_TIMEOUT', 'The broker did not answer in time'));
    }, o.timeoutMs);
    // The app's own `signal`, when it gives one, wins over ours.
    fetch(o.url, { signal: controller?.signal, ...o.init })
      .then(
        async (res) => ({
          status: res.status,
          headers: res.headers,
          // An unreadable body is `undefined`: the caller decides what that means for the status.
          body: await res.json().catch(() => undefined),
        }),
        (cause: unknown) => {
          throw new BrokerClientError('ERR_NETWORK', 'The broker could not be reached', undefined, { cause });
        },
      )
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
      });
  });
}

/** Milliseconds to wait from a `Retry-After` value (delay-seconds or an HTTP date), or `undefined`. */
function retryAfterMs(value: string | null, serverNow: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d{1,6}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - serverNow);
}

/**
 * `GET url`: the JSON object of a 2xx answer. 429 and 503 are retried after their `Retry-After`
 * (1 s when absent) while the attempts and the time budget last.
 * @throws BrokerClientError with the codes of {@link BrokerClientErrorCode}.
 */
export async function getJson(o: ResolvedClientOptions): Promise<BrokerAnswer> {
  const start = o.clock.now();
  for (let n = 1; ; n++) {
    const sent = o.clock.now();
    const { status, headers, body } = await attempt(o);
    const date = Date.parse(headers.get('date') ?? '');
    // `Date` has whole seconds, truncated: the broker's clock read somewhere in [date, date + 1 s)
    // while ours read somewhere after `sent`. Taking the upper bound refreshes early, never late.
    const skewMs = Number.isNaN(date) ? 0 : date + 1000 - sent;
    if (status >= 200 && status < 300) {
      if (typeof body != 'object' || body === null) {
        throw new BrokerClientError('ERR_BAD_RESPONSE', 'The broker did not answer with JSON', status);
      }
      return { status, body: body as Record<string, unknown>, skewMs };
    }
    const problemCode = (body as { code?: unknown } | undefined)?.code;
    const serverCode = typeof problemCode == 'string' && SERVER_CODE.test(problemCode) ? problemCode : undefined;
    if (status === 429 || status === 503) {
      const hinted = retryAfterMs(headers.get('retry-after'), o.clock.now() + skewMs);
      const waitMs = hinted ?? 1000;
      if (n < o.maxAttempts && o.clock.now() + waitMs - start <= o.budgetMs) {
        const { setTimeout } = o;
        await new Promise<void>((resolve) => setTimeout(resolve, waitMs));
        continue;
      }
      throw new BrokerClientError('ERR_UNAVAILABLE', 'The broker is busy or unavailable', status, {
        serverCode,
        retryAfterSeconds: hinted && Math.ceil(hinted / 1000),
      });
    }
    throw status === 401
      ? new BrokerClientError('ERR_UNAUTHENTICATED', 'Not logged in', status, { serverCode })
      : new BrokerClientError('ERR_HTTP', 'The broker refused the request', status, { serverCode });
  }
}
