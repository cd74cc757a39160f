// The options both providers share, their validation and their defaults. Only web-platform globals
// (`fetch`, `setTimeout`, `clearTimeout`, `AbortController`) are used, read through `globalThis` so
// that this folder compiles without DOM or Node types.

/** The parts of a `fetch` `Response` the client reads. */
export interface BrokerResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

/**
 * A `fetch`-compatible function: the browser's, React Native's, a worker's, or the app's own wrapper
 * (one that adds an `Authorization` header, for instance). Called unbound, as `fetch(url, init)`.
 */
export type BrokerFetch<I> = (url: string, init?: I) => Promise<BrokerResponse>;

/** A source of wall-clock time, epoch milliseconds (`Date` fits). */
export interface ClientClock {
  now(): number;
}

/** Timers for retry waits and timeouts, called unbound (the platform's own refuse another `this`). */
export interface ClientTimers {
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: never) => void;
}

/** Options of `fromBroker()` and `fromBrokerToken()`. Validated at construction; a bad value is a `TypeError`. */
export interface BrokerClientOptions<I extends object = object> {
  /**
   * The route: `'/aws/credentials'` for `fromBroker` (`'/aws/credentials/scoped'` for the
   * router's scoped credentials), `'/aws/token'` for `fromBrokerToken`, or a full URL. Required. A broker on another origin must send
   * `Access-Control-Expose-Headers: Date, Retry-After` for the clock-skew and retry logic to see them.
   */
  readonly url: string;
  /** The `fetch` to call. Default: the global `fetch`. */
  readonly fetch?: BrokerFetch<I>;
  /**
   * The `init` of every request, passed as given (add `signal` only if you want your own abort:
   * the client aborts a timed-out request itself). Use `{ credentials: 'include' }` for session
   * cookies on another origin, or `{ headers: { Authorization: 'Bearer …' } }` for a bearer login.
   * Default: none (a same-origin `GET` with the browser's cookies).
   */
  readonly init?: I;
  /**
   * How long before the credentials expire, in the broker's time (read from its `Date` header),
   * they are fetched again, seconds. Short-lived answers are used for at least half their life, so
   * this never turns into a request per call. Number in [0, 3600]. Default `60`.
   */
  readonly expiryMarginSeconds?: number;
  /** Attempts per refresh while the broker answers 429 or 503 (the first one included). Integer in [1, 10]. Default `3`. */
  readonly maxAttempts?: number;
  /**
   * A retry is made only if it starts within this many seconds of the refresh's first attempt (its
   * `Retry-After` wait included); otherwise the refresh fails at once with `ERR_UNAVAILABLE`.
   * Number in [0, 300]. Default `10`.
   */
  readonly retryBudgetSeconds?: number;
  /** Time limit for one attempt (the answer and its body), milliseconds. Integer in [1, 600000]. Default `10000`. */
  readonly timeoutMs?: number;
  /** The clock for expiry, skew and the retry budget. Default `Date`. */
  readonly clock?: ClientClock;
  /** Timers for retry waits and timeouts. Default: the global `setTimeout`/`clearTimeout`. */
  readonly timers?: ClientTimers;
}

/** {@link BrokerClientOptions} with every default filled in. */
export interface ResolvedClientOptions {
  readonly url: string;
  readonly fetch: (url: string, init?: object) => Promise<BrokerResponse>;
  readonly init: object | undefined;
  readonly marginMs: number;
  readonly maxAttempts: number;
  readonly budgetMs: number;
  readonly timeoutMs: number;
  readonly clock: ClientClock;
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

/** The web-platform globals the client may use; any of them may be missing. */
export interface ClientGlobals {
  readonly fetch?: (url: string, init?: object) => Promise<BrokerResponse>;
  readonly setTimeout?: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout?: (handle: unknown) => void;
  readonly AbortController?: new () => { readonly signal: unknown; abort(): void };
}

export const globals = globalThis as ClientGlobals;

const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v == 'function';

/** Throws `TypeError('<name> must be <what>')` unless `ok`. */
export function check(ok: unknown, name: string, what: string): void {
  if (!ok) throw new TypeError(`${name} must be ${what}`);
}

/** `v` (default `fallback`) when it is a number in [min, max], an integer unless `min` is 0. */
function range(v: unknown, name: string, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  check(
    typeof v == 'number' && v >= min && v <= max && (min === 0 || Number.isInteger(v)),
    name,
    `${min ? 'an integer' : 'a number'} in [${min}, ${max}]`,
  );
  return v as number;
}

/** Validates `options` once, at construction, and fills in the defaults. */
export function resolveClientOptions<I extends object>(options: BrokerClientOptions<I>): ResolvedClientOptions {
  // Types do not bind JavaScript callers: every option is checked as if it were unknown.
  const o = options as { readonly [K in keyof BrokerClientOptions]?: unknown };
  check(typeof o.url == 'string' && o.url !== '', 'url', 'a non-empty string');
  const fetch = o.fetch ?? globals.fetch;
  check(isFunction(fetch), 'fetch', 'a function');
  check(typeof (o.init ?? {}) == 'object', 'init', 'an object');
  const clock = (o.clock ?? Date) as Partial<ClientClock> | null;
  check(isFunction(clock?.now), 'clock', 'an object with a now() method');
  const timers = (o.timers ?? globals) as Partial<ClientTimers> | null;
  const setTimeout = timers?.setTimeout;
  const clearTimeout = timers?.clearTimeout;
  check(isFunction(setTimeout) && isFunction(clearTimeout), 'timers', 'setTimeout and clearTimeout functions');
  return {
    url: o.url as string,
    // The client calls it with the app's `init` plus an abort `signal`, which every fetch accepts.
    fetch: fetch as ResolvedClientOptions['fetch'],
    init: o.init as object | undefined,
    marginMs: range(o.expiryMarginSeconds, 'expiryMarginSeconds', 60, 0, 3600) * 1000,
    maxAttempts: range(o.maxAttempts, 'maxAttempts', 3, 1, 10),
    budgetMs: range(o.retryBudgetSeconds, 'retryBudgetSeconds', 10, 0, 300) * 1000,
    timeoutMs: range(o.timeoutMs, 'timeoutMs', 10_000, 1, 600_000),
    clock: clock as ClientClock,
    setTimeout: setTimeout as ResolvedClientOptions['setTimeout'],
    clearTimeout: clearTimeout as ResolvedClientOptions['clearTimeout'],
  };
}
