// Starts the example app. The only file of the example that reads process.env; config.ts checks it.
//
//   npm start                       → the embedded Cognito emulator (state in .state/) + the app
//   COGNITO_IDENTITY_POOL_ID=… COGNITO_DEVELOPER_PROVIDER=… npm start
//                                   → real Amazon Cognito, with the AWS SDK's default credentials,
//                                     checked by broker.preflight() before the app serves anyone
//                                     (one of the two variables alone is an error); with
//                                     AWS_ENDPOINT_URL_COGNITO_IDENTITY, the Cognito at that endpoint
//                                     (an emulator started on its own: npm run emulator)
//   REDIS_URL=… SESSION_SECRET=… CACHE_ENCRYPTION_KEYS=… COGNITO_…=… npm start
//                                   → fleet mode: sessions, bearer tokens and the broker's shared
//                                     tier in Redis, so that many instances act as one
//                                     (npm run start:fleet starts a local fleet); with
//                                     REDIS_CLUSTER_NODES=redis://h1:p1,redis://h2:p2 instead of
//                                     REDIS_URL, in a Redis Cluster (npm run start:fleet -- --cluster)
//
// A start that cannot succeed (a bad variable, a port in use, a pool the broker cannot use) prints one line naming the problem and
// the fix on stderr and exits: 2 for a bad setting, 1 for a failure with good settings.
import { mkdirSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { pino } from 'pino';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createBroker, isBrokerError, redactPaths, type PreflightResult } from '../../src/index.js';
import { createApp } from './app.js';
import { REDIS_COMMAND_MS, startFleetParts, type FleetParts } from './fleet.js';
import { listenFailure, readConfig, StartupError } from './config.js';
import { devLogStream } from './dev-log.js';
import { startMetrics } from './telemetry.js';
import { DEMO_USERS } from './users.js';

const DEFAULT_STATE_FILE = join(dirname(fileURLToPath(import.meta.url)), '.state', 'emulator.json');
// How long a failed start may spend closing what it opened before it exits anyway.
const CLEANUP_MS = 2000;

/** What a failed start has to close before the process exits. */
const cleanups: (() => Promise<void>)[] = [];

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The first of the ten ports after `port` that `host` can bind now, or 0 (any free port) if none. */
async function freePortAfter(host: string, port: number): Promise<number> {
  for (let p = port + 1; p <= Math.min(port + 10, 65_535); p++) {
    const probe = createServer();
    try {
      await listen(probe, p, host);
      await new Promise((resolve) => probe.close(resolve));
      return p;
    } catch {
      // Taken as well: try the next one.
    }
  }
  return 0;
}

/**
 * Runs `broker.preflight()` for real Cognito and turns a failure into the one line a failed start
 * prints. Its broker has no logger: the failure is told once, in that line, not also as a JSON log line.
 */
async function preflight(
  cognito: { readonly identityPoolId: string; readonly developerProviderName: string },
  guests: boolean,
): Promise<PreflightResult> {
  try {
    return await createBroker(cognito).preflight({ guests });
  } catch (err) {
    if (!isBrokerError(err)) throw err;
    if (err.code === 'ERR_MISCONFIGURED') {
      throw new StartupError(
        `Amazon Cognito is not usable: ${err.message}`,
        'Fix that, or unset COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER for the embedded emulator',
        1,
      );
    }
    throw new StartupError(
      `Amazon Cognito did not answer the startup check (${err.code})`,
      'Check the network and try again',
      1,
    );
  }
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const logOptions = { level: config.logLevel, redact: [...redactPaths] };
  const logger = config.logFormat === 'json' ? pino(logOptions) : pino(logOptions, devLogStream());

  // The app's port is bound first: when it is taken, nothing else has started (no emulator, no state).
  let handle: RequestListener = (_req, res) => {
    res.writeHead(503, { 'Retry-After': '1' }).end('starting\n');
  };
  const server = createServer((req, res) => {
    handle(req, res);
  });
  try {
    await listen(server, config.port, config.host);
  } catch (err) {
    throw listenFailure(err, 'PORT', config.host, config.port, await freePortAfter(config.host, config.port || 3000));
  }
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );

  // The global MeterProvider, before the broker's first call: the broker's metrics go to /metrics.
  const appMetrics = startMetrics({ global: true });
  cleanups.push(() => appMetrics.shutdown());

  let emulator: RunningEmulator | undefined;
  let broker;
  let client: CognitoIdentityClient | undefined;
  let stateFile: string | undefined;
  let checked: PreflightResult | undefined;
  let fleetParts: FleetParts | undefined;
  if (config.cognito !== undefined) {
    // Real Cognito: the broker builds its own client for the pool's region with the SDK's default
    // credential chain (env, profile, instance role). The pool, the provider name, the roles and the
    // credentials are checked before the app serves anyone, so that a bad setup stops the start
    // instead of failing every /aws call.
    checked = await preflight(config.cognito, config.allowGuests === true);
    if (config.fleet !== undefined) {
      const parts = await startFleetParts(config.fleet, config.sessionSecret ?? '', logger);
      fleetParts = parts;
      cleanups.push(() => parts.close());
    }
    broker = createBroker({
      ...config.cognito,
      logger,
      ...(fleetParts === undefined ? {} : { fleet: fleetParts.fleet }),
    });
  } else {
    stateFile = config.emulatorStateFile ?? DEFAULT_STATE_FILE;
    mkdirSync(dirname(stateFile), { recursive: true });
    // Strict SigV4 with keys made at each start: only this process's broker can sign developer calls,
    // so a forged Authorization header gets nobody's developer token from the embedded emulator.
    const demoKeys = {
      accessKeyId: `AKIDDEMO${randomBytes(6).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
    };
    try {
      emulator = await startEmulator({
        strictSigV4: [demoKeys],
        host: '127.0.0.1',
        port: config.emulatorPort,
        stateFile,
        seed: [
          {
            name: 'express-app-demo',
            developerProviderName: 'login.demo.app',
            allowUnauthenticatedIdentities: true,
            supportedLoginProviders: { [config.linkProvider]: 'demo-app-id' },
          },
        ],
      });
    } catch (err) {
      const failure = listenFailure(
        err,
        'EMULATOR_PORT',
        '127.0.0.1',
        config.emulatorPort,
        await freePortAfter('127.0.0.1', config.emulatorPort || 4566),
      );
      if (failure !== err) throw failure;
      throw new StartupError(
        (err as Error).message,
        'Or start on a fresh state: EMULATOR_STATE_FILE=/tmp/demo-emulator.json npm start',
        1,
      );
    }
    const started = emulator;
    cleanups.push(() => started.stop());
    const pool = emulator.pools[0];
    if (pool === undefined) throw new Error('the emulator did not create the demo pool');
    client = new CognitoIdentityClient({
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: demoKeys,
    });
    broker = createBroker({
      identityPoolId: pool.identityPoolId,
      developerProviderName: pool.developerProviderName ?? 'login.demo.app',
      client,
      logger,
    });
  }
  const running = emulator;
  const redis = fleetParts;
  const fleetBroker = broker;
  const app = createApp({
    broker,
    sessionSecret: config.sessionSecret ?? randomBytes(32).toString('base64url'),
    logger,
    demoProvider: config.linkProvider,
    ...(running === undefined ? {} : { mintProviderToken: (p: string, s: string) => running.mintProviderToken(p, s) }),
    allowGuests: config.allowGuests ?? running !== undefined,
    ...(running === undefined ? {} : { sts: { endpoint: running.endpoint, region: running.region } }),
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    metrics: appMetrics.handler,
    ...(redis === undefined
      ? {}
      : {
          sessionStore: redis.sessionStore,
          sessionStoreTimeoutMs: REDIS_COMMAND_MS,
          bearerTokens: redis.bearerTokens,
          fleetHealth: redis.health(() => fleetBroker.stats().fleet),
        }),
  });
  handle = app;
  // Before the banner: whoever waits for it may send SIGTERM at once.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections();
    // Whatever hangs (a paused Redis), the process ends within CLEANUP_MS of the last request.
    server.close(() => {
      client?.destroy();
      const timer = new Promise<void>((resolve) => setTimeout(resolve, CLEANUP_MS).unref());
      const closing = Promise.allSettled([redis?.close(), running?.stop(), appMetrics.shutdown()]);
      void Promise.race([closing, timer]).finally(() => process.exit(0));
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { port } = server.address() as AddressInfo;
  const lines = [
    '',
    `  Cognito identity broker demo: http://${config.host}:${port}/`,
    `  Metrics: http://${config.host}:${port}/metrics · health: /healthz · readiness: /readyz`,
    running === undefined
      ? `  Backend: Amazon Cognito, pool ${broker.identityPoolId} (${checked?.identityPoolName ?? ''}, checked)`
      : `  Backend: embedded emulator at ${running.endpoint} (pool ${broker.identityPoolId}, state in ${stateFile ?? ''})`,
    ...(config.cognitoEndpoint === undefined ? [] : [`  Cognito endpoint: ${config.cognitoEndpoint}`]),
    ...(config.fleet === undefined
      ? []
      : [
          `  Fleet mode: sessions and the broker's shared tier in ${config.fleet.redis.mode === 'cluster' ? 'the Redis Cluster of' : 'Redis at'} ${config.fleet.redisUrlShown}`,
        ]),
    '  Demo logins:',
    ...DEMO_USERS.map((u) => `    ${u.username.padEnd(12)} ${u.password}`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch(async (err: unknown) => {
  const line =
    err instanceof StartupError
      ? err.line()
      : `cannot start the example app: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`${line}\n`);
  // Whatever started (the port, the emulator) would keep the process alive: close it, briefly, then exit.
  const timer = new Promise<void>((resolve) => setTimeout(resolve, CLEANUP_MS).unref());
  await Promise.race([Promise.allSettled(cleanups.reverse().map((c) => c())), timer]);
  process.exit(err instanceof StartupError ? err.exitCode : 1);
});
