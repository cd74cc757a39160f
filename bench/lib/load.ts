// Load generation in the orchestrator process (the servers under test run in their own processes).
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { percentile, sortedCopy } from './stats.js';
import { userName, userPassword } from './users.js';

/** One autocannon run. */
export interface LoadOptions {
  readonly port: number;
  readonly path: string;
  /** Session cookies; request k carries `cookies[pick(k)]`. */
  readonly cookies: readonly string[];
  /** Which cookie request k uses. Default: round robin. */
  readonly pick?: (k: number) => number;
  readonly connections: number;
  /** Seconds, unless `amount` is given. */
  readonly duration?: number;
  /** Total requests. */
  readonly amount?: number;
  /** Fixed total request rate, requests per second. Default: as fast as the server answers. */
  readonly overallRate?: number;
  /** Called every 100 ms with the ms elapsed since the start. */
  readonly onTick?: (elapsedMs: number) => void;
}

/** What a run measured. Latencies are exact (recorded per response, not autocannon's 1 ms histogram). */
export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Per response: completion time (ms since start) and latency (ms). */
  readonly at: Float64Array;
  readonly latency: Float64Array;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  let k = 0;
  const pick = o.pick ?? ((i: number) => i % o.cookies.length);
  const cookies = o.cookies;
  const at: number[] = [];
  const latency: number[] = [];
  const statusCodes: Record<string, number> = {};
  const started = performance.now();
  let tick: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${o.port}`,
        connections: o.connections,
        ...(o.amount === undefined ? { duration: o.duration ?? 5 } : { amount: o.amount }),
        ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
        timeout: 30,
        requests: [
          {
            method: 'GET',
            path: o.path,
            setupRequest: (req) => {
              const cookie = cookies[pick(k++)] ?? '';
              return { ...req, headers: { ...req.headers, cookie } };
            },
          },
        ],
      },
      (err, res) => {
        if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(res);
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      at.push(performance.now() - started);
      latency.push(responseTime);
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    });
    if (o.onTick !== undefined) {
      const onTick = o.onTick;
      tick = setInterval(() => {
        onTick(performance.now() - started);
      }, 100);
    }
  }).finally(() => {
    clearInterval(tick);
  });
  const seconds = (performance.now() - started) / 1000;
  const sorted = sortedCopy(latency);
  return {
    requests: latency.length,
    seconds: result.duration,
    rps: latency.length / (result.duration || seconds),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    at: Float64Array.from(at),
    latency: Float64Array.from(latency),
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Non-2xx responses and socket errors of a run. */
export function failures(r: LoadResult): number {
  let n = r.errors + r.timeouts;
  for (const [code, count] of Object.entries(r.statusCodes)) if (!code.startsWith('2')) n += count;
  return n;
}

/** Throws unless every response of the run was a 2xx. */
export function check(r: LoadResult, what: string): void {
  const bad = failures(r);
  if (bad > 0)
    throw new Error(`${what}: ${bad} failed responses (${JSON.stringify(r.statusCodes)}, errors ${r.errors})`);
}

/** Latencies of the responses completed in [fromMs, toMs), sorted. */
export function latenciesBetween(r: LoadResult, fromMs: number, toMs: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < r.at.length; i++) {
    const t = r.at[i]!;
    if (t >= fromMs && t < toMs) out.push(r.latency[i]!);
  }
  return sortedCopy(out);
}

/** Logs user `i` in through `POST /login` and returns the session cookie (`name=value`). */
export async function login(port: number, i: number): Promise<{ status: number; cookie: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: userName(i), password: userPassword(i) }),
  });
  await res.arrayBuffer();
  const set = res.headers.getSetCookie()[0] ?? '';
  return { status: res.status, cookie: set.split(';')[0] ?? '' };
}

/** Logs users [0, n) in, `concurrency` at a time; throws unless every login succeeds. */
export async function loginAll(port: number, n: number, concurrency = 16): Promise<string[]> {
  const cookies: string[] = new Array<string>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const r = await login(port, i);
      if (r.status !== 200 || r.cookie === '') throw new Error(`login of user ${i} failed: ${r.status}`);
      cookies[i] = r.cookie;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return cookies;
}

/** GET `path` once per cookie (`concurrency` at a time); returns the first body. Throws on a non-200. */
export async function getAll(
  port: number,
  path: string,
  cookies: readonly string[],
  concurrency = 16,
): Promise<unknown> {
  let next = 0;
  let first: unknown;
  const worker = async (): Promise<void> => {
    while (next < cookies.length) {
      const i = next++;
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { cookie: cookies[i]! } });
      const body: unknown = await res.json();
      if (res.status !== 200) throw new Error(`GET ${path} for user ${i}: ${res.status} ${JSON.stringify(body)}`);
      first ??= body;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return first;
}
