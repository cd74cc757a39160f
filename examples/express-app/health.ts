import type { Request, Response, Router } from 'express';
import express from 'express';
import { isBrokerError, type Broker } from '../../src/index.js';
import { SESSIONS_UNAVAILABLE } from './sessions.js';

/** Options of {@link healthRoutes}. */
export interface HealthOptions {
  /** The broker whose readiness `/readyz` reports. */
  readonly broker: Broker;
  /** How long a readiness answer is reused, ms. Default 5000: a probe every second costs one check per 5 s. */
  readonly readyCacheMs?: number;
  /** Epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Fleet mode: the state of Redis, reported by `/readyz` as `fleet` (read at each probe, never cached). */
  readonly fleet?: () => FleetHealth;
}

/** What `/readyz` says of Redis in fleet mode. */
export interface FleetHealth {
  /** The broker's shared tier: `shared` while Redis answers, `degraded` while it works per process. */
  readonly state: 'shared' | 'degraded';
  /** The sessions' (and bearer tokens') Redis connection: while `disconnected` the instance is not ready. */
  readonly sessions: 'connected' | 'disconnected';
  /**
   * `mismatch` while shared entries sealed under keys this instance cannot open were seen lately
   * (instances with different `CACHE_ENCRYPTION_KEYS`): reported, not a readiness failure.
   */
  readonly keys?: 'ok' | 'mismatch';
}

interface Readiness {
  readonly ready: boolean;
  /** The `BrokerError` code of a failed check (never its message: the route is unauthenticated). */
  readonly code?: string;
}

/**
 * `GET /healthz` (the process is alive and serving: always 200) and `GET /readyz` (the broker can
 * serve: its `preflight()`, which checks the AWS credentials, the pool, the developer provider and
 * the roles; cached for `readyCacheMs` and shared by concurrent probes). Mounted before the session,
 * so probes create no session and no log line. In fleet mode the answer also carries `fleet`, the
 * state of Redis, and the instance is not ready (503, `ERR_SESSIONS_UNAVAILABLE`) while its sessions'
 * Redis connection is down: every request with a session or a bearer token would answer 503. The
 * broker's shared tier alone degraded (`state: 'degraded'`) leaves it ready: the broker works per
 * process.
 *
 * @example
 * app.use(healthRoutes({ broker }));
 */
export function healthRoutes(options: HealthOptions): Router {
  const { broker } = options;
  const ttl = options.readyCacheMs ?? 5000;
  if (!Number.isInteger(ttl) || ttl < 0) throw new TypeError('readyCacheMs must be an integer ≥ 0');
  const now = options.now ?? Date.now;
  const fleet = options.fleet;
  let cached: { readonly at: number; readonly answer: Promise<Readiness> } | undefined;

  const check = async (): Promise<Readiness> => {
    try {
      await broker.preflight();
      return { ready: true };
    } catch (err) {
      return { ready: false, code: isBrokerError(err) ? err.code : 'ERR_INTERNAL' };
    }
  };

  const router = express.Router();
  router.get('/healthz', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req: Request, res: Response, next) => {
    const t = now();
    if (cached === undefined || t - cached.at >= ttl) cached = { at: t, answer: check() };
    cached.answer.then(
      (r) => {
        res.set('Cache-Control', 'no-store');
        const shared = fleet?.();
        const sessionsDown = shared?.sessions === 'disconnected';
        const ready = r.ready && !sessionsDown;
        const code = r.ready ? (sessionsDown ? SESSIONS_UNAVAILABLE : undefined) : r.code;
        const body = ready ? { status: 'ready' } : { status: 'not ready', code };
        res.status(ready ? 200 : 503).json(shared === undefined ? body : { ...body, fleet: shared });
      },
      (err: unknown) => {
        next(err);
      },
    );
  });
  return router;
}
