/** The names `quotas` accepts: `aws` for the service's documented default quotas, `none` for none. */
export type QuotaMode = 'aws' | 'none';

/**
 * Cognito Identity's documented default rate quotas, requests per second per account and region
 * (adjustable in the real service). Operations not listed here are not limited.
 */
export const AWS_DEFAULT_QUOTAS: Readonly<Record<string, number>> = Object.freeze({
  GetOpenIdTokenForDeveloperIdentity: 50,
  GetCredentialsForIdentity: 200,
  GetOpenIdToken: 200,
  GetId: 25,
  ListIdentities: 5,
  DeleteIdentities: 10,
});

const WINDOW_MS = 1000;

/**
 * Enforces per-second quotas per region and operation, the way the service's quotas apply to one
 * account in one region: at most `rps` calls are let through in any one-second window; the rest are
 * refused (the caller answers TooManyRequestsException). Memory is bounded: one window of at most
 * `rps` arrival times per region and limited operation.
 */
export class QuotaLimiter {
  readonly #quotas: Readonly<Record<string, number>>;
  readonly #windows = new Map<string, number[]>();

  constructor(quotas: Readonly<Record<string, number>> = AWS_DEFAULT_QUOTAS) {
    this.#quotas = quotas;
  }

  /** Takes one call of `operation` in `region` at `nowMs`; false when the quota is spent. */
  take(region: string, operation: string, nowMs: number): boolean {
    const rps = Object.hasOwn(this.#quotas, operation) ? this.#quotas[operation] : undefined;
    if (rps === undefined) return true;
    const key = `${region}\u0000${operation}`;
    let window = this.#windows.get(key);
    if (window === undefined) {
      window = [];
      this.#windows.set(key, window);
    }
    while (window.length > 0 && (window[0] ?? 0) <= nowMs - WINDOW_MS) window.shift();
    if (window.length >= rps) return false;
    window.push(nowMs);
    return true;
  }
}

/**
 * The limiter for a `quotas` option: undefined for `none` (or absent).
 * @throws TypeError on any other value.
 */
export function quotaLimiter(mode: unknown): QuotaLimiter | undefined {
  if (mode === undefined || mode === 'none') return undefined;
  if (mode === 'aws') return new QuotaLimiter(AWS_DEFAULT_QUOTAS);
  throw new TypeError(`quotas must be 'aws' or 'none', got ${JSON.stringify(mode)}`);
}
