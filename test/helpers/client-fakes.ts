// Fakes for the browser client's seams: a recording fetch built on real `Response`s, and timers on a
// ManualClock that fire only when a test drives them.
import type { BrokerResponse, ClientTimers } from '../../src/client/index.js';
import { ManualClock } from './manual-clock.js';

/** One call the fake fetch received. */
export interface FetchCall {
  readonly url: string;
  readonly init: Record<string, unknown> | undefined;
  /** `this` of the call: the platform's fetch refuses any but `undefined`/`globalThis`. */
  readonly thisArg: unknown;
}

/** What a handler answers: a response, or a promise of one (a rejection is a network error). */
export type FetchHandler = (call: FetchCall, n: number) => BrokerResponse | Promise<BrokerResponse>;

/** A fetch that records its calls and answers with `handler`. */
export function fakeFetch(handler: FetchHandler): {
  fetch: (url: string, init?: object) => Promise<BrokerResponse>;
  calls: FetchCall[];
} {
  const calls: FetchCall[] = [];
  function fetch(this: unknown, url: string, init?: object): Promise<BrokerResponse> {
    const call = { url, init: init as Record<string, unknown> | undefined, thisArg: this };
    calls.push(call);
    const n = calls.length;
    // A handler that throws is a fetch that rejects.
    return (async () => handler(call, n))();
  }
  return { fetch, calls };
}

/** A real `Response` with a JSON body (or `body` as raw text when it is a string) and headers. */
export function response(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = typeof body == 'string' ? body : JSON.stringify(body);
  return new Response(status === 204 ? null : text, {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** The HTTP `Date` header for `ms`. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly ms: number;
  readonly callback: () => void;
}

/** {@link ClientTimers} on a {@link ManualClock}: a timer fires only from {@link ManualTimers.fireNext}. */
export class ManualTimers implements ClientTimers {
  readonly #clock: ManualClock;
  readonly #state: { pending: Pending[]; next: number } = { pending: [], next: 1 };
  /** The delay of every timer set, in order. */
  readonly delays: number[] = [];
  // Like the platform's timers, these refuse to be called as a method of anything but globalThis
  // ("Illegal invocation" in browsers): the client must call them unbound.
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: never) => void;

  constructor(clock: ManualClock) {
    this.#clock = clock;
    const state = this.#state;
    const delays = this.delays;
    this.setTimeout = function (this: unknown, callback: () => void, ms: number): unknown {
      if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
      const id = state.next++;
      state.pending.push({ id, at: clock.now() + ms, ms, callback });
      delays.push(ms);
      return id;
    };
    this.clearTimeout = function (this: unknown, handle: never): void {
      if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
      state.pending = state.pending.filter((t) => t.id !== (handle as unknown));
    };
  }

  get pending(): number {
    return this.#state.pending.length;
  }

  /** Moves the clock to the earliest timer and fires it; false when none is pending. */
  fireNext(): boolean {
    const state = this.#state;
    const first = [...state.pending].sort((a, b) => a.at - b.at)[0];
    if (first === undefined) return false;
    state.pending = state.pending.filter((t) => t !== first);
    if (first.at > this.#clock.now()) this.#clock.set(first.at);
    first.callback();
    return true;
  }
}

/** Lets every queued promise job and I/O callback run (no time passes on any clock). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Settles `promise`, firing the earliest pending timer whenever it is stuck (at most `maxTimers`
 * times). Returns the value or throws what it rejected with.
 */
export async function drive<T>(promise: Promise<T>, timers: ManualTimers, maxTimers = 50): Promise<T> {
  const state = { settled: false };
  const watched = promise.finally(() => {
    state.settled = true;
  });
  watched.catch(() => undefined);
  for (let i = 0; i <= maxTimers; i++) {
    for (let j = 0; j < 5 && !state.settled; j++) await flush();
    if (state.settled) return watched;
    if (!timers.fireNext()) break;
  }
  for (let j = 0; j < 5 && !state.settled; j++) await flush();
  if (!state.settled) throw new Error('the promise did not settle');
  return watched;
}

export { ManualClock };
