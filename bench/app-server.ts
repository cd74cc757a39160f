// The server under test, in its own process: the example app (session + passport + cognitoRouter)
// with a real broker, talking to the emulator process over HTTP with the real SDK (or, for the
// 100,000-user figures, to an in-process fake that returns real-sized payloads). It adds one
// baseline route at the Cognito router's mount point, `/aws/baseline`, so that both routes run
// through exactly the same middleware (session, passport, the bearer check) and differ only in the
// handler. With `fleet` in its config it is one instance of a fleet: the broker shares its second
// level through the bench's Redis, one redis-server or a Redis Cluster (the encryption key comes in
// the environment, not argv).
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Express, NextFunction, Request, Response } from 'express';
import { createApp } from '../examples/express-app/app.js';
import type { DemoUser } from '../examples/express-app/users.js';
import { createBroker, type CognitoSendClient } from '../src/index.js';
import { redisFleet, type BrokerFleet } from '../src/fleet/index.js';
import { offsetClock, type ClockSetting } from './lib/clock.js';
import { fakeCognito } from './lib/fake-cognito.js';
import { FLEET_KEY_ENV } from './lib/fleet-env.js';
import { connectFleetRedis, type FleetRedisConfig, type FleetRedisConnection } from './lib/fleet-redis.js';
import { serveParent } from './lib/ipc.js';
import { BASELINE_PATH, userId, userName, userPassword } from './lib/users.js';
import { benchScope, SCOPED_PATH } from './lib/scope.js';
import { scopedCredentialsRoute } from '../src/middleware/index.js';
import { registerOtel } from './lib/otel.js';

/** How the orchestrator configures this process (JSON in argv[2]). */
export interface AppServerConfig {
  /** App accounts `user0…user{n-1}`, password `pw-{i}`. */
  readonly users: number;
  /** The emulator to talk to, or `fake` for the in-process fake. */
  readonly upstream: { readonly endpoint: string; readonly region: string } | 'fake';
  readonly identityPoolId: string;
  readonly developerProviderName: string;
  /** Broker cache bound. Default the broker's. */
  readonly cacheMax?: number;
  /**
   * Registers the real OpenTelemetry SDK before the broker exists, as an app using the Node SDK does:
   * a global MeterProvider (read by the Prometheus exporter on scrape), a global TracerProvider that
   * records every span (always-on sampling, batch processor) and the AsyncLocalStorage context manager.
   */
  readonly otel?: boolean;
  /**
   * Fleet mode: the broker's shared tier on this Redis, one server or a cluster (`redisFleet()`),
   * sealed with the key in the environment variable `FLEET_KEY_ENV` (base64 of 32 bytes, the same
   * for every instance).
   */
  readonly fleet?: FleetRedisConfig;
}

const config = JSON.parse(process.argv[2] ?? '{}') as AppServerConfig;
const otel = config.otel === true ? registerOtel() : undefined;
const clock = offsetClock();

let client: CognitoSendClient | undefined;
let fakeCounters: (() => Record<string, number>) | undefined;
if (config.upstream === 'fake') {
  const fake = fakeCognito({
    clock,
    identityPoolId: config.identityPoolId,
    developerProviderName: config.developerProviderName,
  });
  client = fake.client;
  fakeCounters = fake.counters;
} else {
  // No client option: the broker builds its default client (retries, timeouts as shipped), which
  // finds the emulator and the developer credentials through the SDK's standard environment variables.
  process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY = config.upstream.endpoint;
  process.env.AWS_ENDPOINT_URL_STS = config.upstream.endpoint; // the classic flow (bench/scoped.ts)
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLEDEVELOPER';
  process.env.AWS_SECRET_ACCESS_KEY = 'emulator-developer-secret';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

let redis: FleetRedisConnection | undefined;
let fleet: BrokerFleet | undefined;
if (config.fleet !== undefined) {
  const key = process.env[FLEET_KEY_ENV];
  if (key === undefined || key === '') throw new Error(`fleet mode needs ${FLEET_KEY_ENV} in the environment`);
  // Read once; nothing else in this process finds it in the environment.
  Reflect.deleteProperty(process.env, FLEET_KEY_ENV);
  const encryptionKeys = { bench: key };
  redis = await connectFleetRedis(config.fleet, encryptionKeys);
  fleet = redisFleet({ client: redis.client, encryptionKeys });
}

// BENCH_LOG=warn (or debug…) shows the broker's and the app's log lines on stderr.
const logger =
  process.env.BENCH_LOG === undefined ? undefined : pino({ level: process.env.BENCH_LOG }, pino.destination(2));
const broker = createBroker({
  ...(logger === undefined ? {} : { logger }),
  identityPoolId: config.identityPoolId,
  developerProviderName: config.developerProviderName,
  ...(client === undefined ? {} : { client }),
  clock,
  ...(config.cacheMax === undefined ? {} : { cache: { max: config.cacheMax } }),
  ...(fleet === undefined ? {} : { fleet }),
  // BENCH_QUOTA=off measures the broker without its quota governor, for comparison in one sitting.
  // The in-process fake has no account quota (and fills 100,000 users at once): its operations go
  // ungoverned, the per-user budgets stay.
  ...(process.env.BENCH_QUOTA === 'off'
    ? { quota: false as const }
    : config.upstream === 'fake'
      ? { quota: { operations: { GetOpenIdTokenForDeveloperIdentity: false, GetCredentialsForIdentity: false } } }
      : {}),
});

const users: DemoUser[] = [];
for (let i = 0; i < config.users; i++) {
  users.push({ id: userId(i), username: userName(i), name: `Bench User ${i}`, password: userPassword(i) });
}
const app: Express = createApp({
  ...(logger === undefined ? {} : { logger }),
  broker,
  sessionSecret: 'bench-session-secret-0123456789',
  users,
  allowGuests: false,
  // Every simulated user logs in from 127.0.0.1 (and the burst retries its logins): the per-address
  // login limit is raised for the load, explicitly; the per-username limit counts failures only and
  // the bench's logins all succeed.
  loginRateLimit: { perAddress: { max: Number.MAX_SAFE_INTEGER } },
});

// The baseline: a body the size and shape of GET /credentials, behind the same session, passport
// and router. The sizes come from a real credentials response at the first request.
let baselineBody: Record<string, string> | undefined;
function baseline(req: Request, res: Response): void {
  if (req.user === undefined) {
    res.status(401).end();
    return;
  }
  res.set('Cache-Control', 'no-store');
  res.json(baselineBody);
}

// The Cognito router's layer (it carries afterLogin/logout) gets a wrapper that answers the baseline
// path itself and hands everything else to the router: one string comparison on the measured path.
interface Layer {
  handle: unknown;
}
type Handle = (req: Request, res: Response, next: NextFunction) => void;
const appStack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
const awsLayer = appStack.find((l) => typeof (l.handle as { afterLogin?: unknown }).afterLogin === 'function');
if (awsLayer === undefined)
  throw new Error('the example app no longer mounts cognitoRouter: update bench/app-server.ts');
const aws = awsLayer.handle as Handle;
// GET /aws/credentials/scoped (bench/scoped.ts): the classic flow's route with a per-user session policy.
const scoped = scopedCredentialsRoute({ broker, scopedCredentials: benchScope });
awsLayer.handle = function awsWithBaseline(req: Request, res: Response, next: NextFunction): void {
  if (req.path === BASELINE_PATH && req.method === 'GET') baseline(req, res);
  else if (req.path === SCOPED_PATH && req.method === 'GET') scoped(req, res, next);
  else aws(req, res, next);
};

const server = createServer(app);
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

/** What `stats` returns. */
export interface AppServerStats {
  readonly broker: ReturnType<typeof broker.stats>;
  readonly fake?: Record<string, number>;
  readonly heapUsed: number;
  readonly gcMs: Record<string, number>;
}

// Time spent in garbage collection, by kind (minor = scavenge, major = mark-compact, incremental…).
const gcMs: Record<string, number> = {};
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
    gcMs[kind] = (gcMs[kind] ?? 0) + entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

let profiler: Session | undefined;
function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => {
      if (err === null) resolve(result);
      else reject(err);
    });
  });
}

serveParent(
  {
    setClock: (setting: ClockSetting) => {
      clock.set(setting);
    },
    /** The Prometheus text of the app's metrics (empty without `otel`), and how many spans were exported. */
    scrape: async (): Promise<{ text: string; spans: number }> =>
      otel === undefined ? { text: '', spans: 0 } : { text: await otel.scrape(), spans: otel.spans() },
    stats: (): AppServerStats => ({
      broker: broker.stats(),
      ...(fakeCounters === undefined ? {} : { fake: fakeCounters() }),
      heapUsed: process.memoryUsage().heapUsed,
      gcMs: { ...gcMs },
    }),
    setBaselineBody: (body: Record<string, string>) => {
      baselineBody = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, 'x'.repeat(v.length)]));
    },
    /** Drops every cached entry of users [from, to): cold caches with sessions kept. */
    forget: ({ from, to }: { from: number; to: number }) => {
      for (let i = from; i < to; i++) broker.forgetUser(userId(i));
    },
    /** Caches credentials of users [from, to) directly through the broker, `concurrency` at a time. */
    fill: async ({ from, to, concurrency }: { from: number; to: number; concurrency: number }) => {
      let next = from;
      const worker = async (): Promise<void> => {
        while (next < to) {
          const i = next++;
          await broker.getCredentials(userId(i));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    },
    /**
     * Asks the broker for the credentials of users [from, to), one call at a time, and returns how
     * long each call took (ms): on another instance's users, the cost of a shared (L2) hit. In fleet
     * mode, also times one Redis PING after each call on the same connection (`pings`): the floor
     * of a round trip on this machine at that moment. On a cluster, the PING goes to the master of
     * the user's slot on the cluster client's own connection to it (see `FleetRedisConnection.connectionFor`).
     */
    timeCredentials: async ({
      from,
      to,
    }: {
      from: number;
      to: number;
    }): Promise<{ calls: number[]; pings: number[] }> => {
      const calls: number[] = [];
      const pings: number[] = [];
      for (let i = from; i < to; i++) {
        const node = await redis?.connectionFor(userId(i));
        const t0 = performance.now();
        await broker.getCredentials(userId(i));
        const t1 = performance.now();
        calls.push(t1 - t0);
        if (node !== undefined) {
          await node.ping();
          pings.push(performance.now() - t1);
        }
      }
      return { calls, pings };
    },
    /** Starts V8's CPU profiler (for a profile of one phase; see profileStop). */
    profileStart: async () => {
      profiler ??= new Session();
      profiler.connect();
      await post(profiler, 'Profiler.enable');
      await post(profiler, 'Profiler.setSamplingInterval', { interval: 100 });
      await post(profiler, 'Profiler.start');
    },
    /** Stops the profiler and writes the profile to `file`. */
    profileStop: async (file: string) => {
      if (profiler === undefined) throw new Error('profileStart first');
      const { profile } = (await post(profiler, 'Profiler.stop')) as { profile: unknown };
      profiler.disconnect();
      writeFileSync(file, JSON.stringify(profile));
    },
    /**
     * Starts V8's sampling heap profiler. Samples are dropped when their object is collected, so
     * what the profile holds at the stop is what survived: live, or promoted and not yet collected.
     */
    heapSampleStart: async () => {
      profiler ??= new Session();
      profiler.connect();
      await post(profiler, 'HeapProfiler.enable');
      await post(profiler, 'HeapProfiler.startSampling', {
        samplingInterval: 1024,
        includeObjectsCollectedByMajorGC: process.env.BENCH_HEAP_PROMOTED === '1',
      });
    },
    /** Stops the sampling heap profiler and writes the profile to `file`. */
    heapSampleStop: async (file: string) => {
      if (profiler === undefined) throw new Error('heapSampleStart first');
      const { profile } = (await post(profiler, 'HeapProfiler.stopSampling')) as { profile: unknown };
      profiler.disconnect();
      writeFileSync(file, JSON.stringify(profile));
    },
    gc: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      return process.memoryUsage().heapUsed;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await fleet?.close();
      redis?.destroy();
      setTimeout(() => process.exit(0), 20);
    },
  },
  { port },
);
