// Starts the example app. The only file of the example that reads process.env.
//
//   npm start                       → the embedded Cognito emulator (state in .state/) + the app
//   COGNITO_IDENTITY_POOL_ID=… COGNITO_DEVELOPER_PROVIDER=… npm start
//                                   → real Amazon Cognito, with the AWS SDK's default credentials
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { pino } from 'pino';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createBroker, redactPaths } from '../../src/index.js';
import { createApp } from './app.js';
import { startMetrics } from './telemetry.js';
import { DEMO_USERS } from './users.js';

const env = process.env;
const HOST = env.HOST ?? '127.0.0.1';
const PORT = Number(env.PORT ?? 3000);
const DEMO_PROVIDER = env.COGNITO_LINK_PROVIDER ?? 'graph.facebook.com';
const STATE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.state');

const logger = pino({ level: env.LOG_LEVEL ?? 'info', redact: [...redactPaths] });

async function main(): Promise<void> {
  // The global MeterProvider, before the broker's first call: the broker's metrics go to /metrics.
  const appMetrics = startMetrics({ global: true });
  let emulator: RunningEmulator | undefined;
  let broker;
  let client: CognitoIdentityClient | undefined;
  const poolId = env.COGNITO_IDENTITY_POOL_ID;
  const devProvider = env.COGNITO_DEVELOPER_PROVIDER;
  if (poolId !== undefined && poolId !== '' && devProvider !== undefined && devProvider !== '') {
    // Real Cognito: the broker builds its own client for the pool's region with the SDK's default
    // credential chain (env, profile, instance role).
    broker = createBroker({ identityPoolId: poolId, developerProviderName: devProvider, logger });
  } else {
    mkdirSync(STATE_DIR, { recursive: true });
    emulator = await startEmulator({
      host: '127.0.0.1',
      port: Number(env.EMULATOR_PORT ?? 0),
      stateFile: join(STATE_DIR, 'emulator.json'),
      seed: [
        {
          name: 'express-app-demo',
          developerProviderName: 'login.demo.app',
          allowUnauthenticatedIdentities: true,
          supportedLoginProviders: { [DEMO_PROVIDER]: 'demo-app-id' },
        },
      ],
    });
    const pool = emulator.pools[0];
    if (pool === undefined) throw new Error('the emulator did not create the demo pool');
    client = new CognitoIdentityClient({
      region: emulator.region,
      endpoint: emulator.endpoint,
      // The emulator only checks that developer calls are signed; these keys are not secrets.
      credentials: { accessKeyId: 'AKIDEMULATORDEMO', secretAccessKey: 'emulator-demo-secret' },
    });
    broker = createBroker({
      identityPoolId: pool.identityPoolId,
      developerProviderName: pool.developerProviderName ?? 'login.demo.app',
      client,
      logger,
    });
  }
  const running = emulator;
  const app = createApp({
    broker,
    sessionSecret: env.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
    logger,
    demoProvider: DEMO_PROVIDER,
    ...(running === undefined ? {} : { mintProviderToken: (p: string, s: string) => running.mintProviderToken(p, s) }),
    allowGuests: running !== undefined || env.COGNITO_ALLOW_GUESTS === 'true',
    metrics: appMetrics.handler,
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const lines = [
    '',
    `  Cognito identity broker demo: http://${HOST}:${port}/`,
    `  Metrics: http://${HOST}:${port}/metrics · health: /healthz · readiness: /readyz`,
    running === undefined
      ? `  Backend: Amazon Cognito, pool ${broker.identityPoolId}`
      : `  Backend: embedded emulator at ${running.endpoint} (pool ${broker.identityPoolId}, state in ${STATE_DIR})`,
    '  Demo logins:',
    ...DEMO_USERS.map((u) => `    ${u.username.padEnd(12)} ${u.password}`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections();
    server.close(() => {
      client?.destroy();
      void Promise.all([running?.stop(), appMetrics.shutdown()]).finally(() => process.exit(0));
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'the example app could not start');
  process.exitCode = 1;
});
