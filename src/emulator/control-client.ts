import { CONTROL_PREFIX } from './http/control.js';
import type { FaultSpec, PoolInfo } from './types.js';

/** A control endpoint call that failed: `status` and `type` as the emulator answered. */
export class EmulatorControlError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(`${type}: ${message}`);
    this.name = 'EmulatorControlError';
    this.status = status;
    this.type = type;
  }
}

/**
 * A typed client of the control endpoint, for tests running in another process than the emulator
 * (for instance against the `cognito-identity-emulator` bin).
 */
export class EmulatorControlClient {
  readonly #base: string;
  readonly #timeoutMs: number;

  /**
   * @param endpoint The emulator's endpoint, e.g. `http://127.0.0.1:4566`.
   * @param options.timeoutMs Per-call timeout. Default 10 000 ms.
   * @throws TypeError when `endpoint` is not an http(s) URL.
   */
  constructor(endpoint: string, options: { timeoutMs?: number } = {}) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new TypeError(`EmulatorControlClient: endpoint must be a URL, got ${JSON.stringify(endpoint)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError('EmulatorControlClient: endpoint must be an http(s) URL');
    }
    this.#base = url.origin;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Calls per operation. */
  async counters(): Promise<Record<string, number>> {
    return (await this.#call('GET', 'counters')) as Record<string, number>;
  }

  async resetCounters(): Promise<void> {
    await this.#call('POST', 'counters/reset');
  }

  /** Sets (or with `null`, clears) the fault of an operation or `*`. */
  async setFault(op: string, spec: FaultSpec | null): Promise<void> {
    const path = `faults/${encodeURIComponent(op)}`;
    await (spec === null ? this.#call('DELETE', path) : this.#call('PUT', path, spec));
  }

  async clearFaults(): Promise<void> {
    await this.#call('DELETE', 'faults');
  }

  /** A provider token the emulator accepts for `provider` and `subject`. */
  async mintProviderToken(
    provider: string,
    subject: string,
    opts: { expiresInSeconds?: number } = {},
  ): Promise<string> {
    const out = (await this.#call('POST', 'provider-token', { provider, subject, ...opts })) as { token: string };
    return out.token;
  }

  /** The seeded (or persisted) pools. */
  async pools(): Promise<readonly PoolInfo[]> {
    return ((await this.#call('GET', 'pools')) as { pools: PoolInfo[] }).pools;
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.#timeoutMs) };
    // The endpoint refuses a POST or PUT without a JSON content type (so no cross-site form can send one).
    if (body !== undefined || method === 'POST' || method === 'PUT') {
      init.body = JSON.stringify(body ?? {});
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(`${this.#base}${CONTROL_PREFIX}${path}`, init);
    const text = await res.text();
    let data: unknown = undefined;
    if (text !== '') {
      try {
        data = JSON.parse(text) as unknown;
      } catch {
        data = undefined;
      }
    }
    if (!res.ok) {
      const e = (data ?? {}) as { __type?: unknown; message?: unknown };
      throw new EmulatorControlError(
        res.status,
        typeof e.__type === 'string' ? e.__type : `HTTP${res.status}`,
        typeof e.message === 'string' ? e.message : text.slice(0, 200),
      );
    }
    return data;
  }
}
