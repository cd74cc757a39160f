// The login burst's clients: users log in spread over a time, ask for credentials, and on a 503 or
// 429 with Retry-After wait that long and ask again, as a client of the app would.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { login } from './load.js';
import { CREDENTIALS_PATH } from './report.js';

export interface BurstOptions {
  /** The app instances; user `i` logs in and asks on `ports[i % ports.length]`. */
  readonly ports: readonly number[];
  readonly users: number;
  /** Logins start evenly over this many ms. */
  readonly spreadMs: number;
  /** A user still not served this long after the start gives up (counted as bad). */
  readonly giveUpMs: number;
}

export interface BurstResult {
  /** Responses by kind and status, and requests that got no response. */
  readonly statuses: Record<string, number>;
  /** Users not served: a response other than 200 or 503/429 + Retry-After, or no response thrice. */
  readonly bad: number;
  /** Requests sent again after a Retry-After. */
  readonly retried: number;
  /** Requests that got no response at all (retried after a second). */
  readonly connectionErrors: number;
  /** When each served user got credentials, ms after the start. */
  readonly servedAt: readonly number[];
}

export async function runBurst(o: BurstOptions): Promise<BurstResult> {
  const statuses: Record<string, number> = {};
  let bad = 0;
  let retried = 0;
  const servedAt: number[] = [];
  const t0 = performance.now();
  // A request that gets no response at all (a connection reset) is retried after a second, as a
  // client would; these are counted and reported apart from the responses.
  let connectionErrors = 0;
  const attempt = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    for (let tries = 0; tries < 3; tries++) {
      try {
        return await fn();
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const what = `no response (${cause?.code ?? cause?.message ?? (err as Error).message})`;
        statuses[what] = (statuses[what] ?? 0) + 1;
        connectionErrors += 1;
        await sleep(1000);
      }
    }
    bad += 1;
    return undefined;
  };
  const flow = async (i: number): Promise<void> => {
    const port = o.ports[i % o.ports.length]!;
    await sleep((i * o.spreadMs) / o.users);
    const l = await attempt(() => login(port, i));
    if (l === undefined) return;
    statuses[`login ${l.status}`] = (statuses[`login ${l.status}`] ?? 0) + 1;
    if (l.status !== 200) {
      bad += 1;
      return;
    }
    while (performance.now() - t0 < o.giveUpMs) {
      const res = await attempt(async () => {
        const r = await fetch(`http://127.0.0.1:${port}${CREDENTIALS_PATH}`, { headers: { cookie: l.cookie } });
        await r.arrayBuffer();
        return r;
      });
      if (res === undefined) return;
      statuses[`credentials ${res.status}`] = (statuses[`credentials ${res.status}`] ?? 0) + 1;
      if (res.status === 200) {
        servedAt.push(performance.now() - t0);
        return;
      }
      const retryAfter = Number(res.headers.get('retry-after'));
      if ((res.status !== 503 && res.status !== 429) || !Number.isFinite(retryAfter) || retryAfter <= 0) {
        bad += 1;
        return;
      }
      retried += 1;
      await sleep(retryAfter * 1000);
    }
  };
  await Promise.all(Array.from({ length: o.users }, (_, i) => flow(i)));
  return { statuses, bad, retried, connectionErrors, servedAt };
}
