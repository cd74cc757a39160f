// The one app stack of the acceptance, security and reliability suites: the example app on a real
// broker over a real SDK client, and a restartable emulator (same port, state file) on 127.0.0.1:0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { createApp, type AppDeps } from '../../examples/express-app/app.js';
import type { DemoUser } from '../../examples/express-app/users.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js';
import { emulatorClient } from './emulator-sdk.js';
import { logSink, type LogSink } from './log-sink.js';

/**
 * Login limits for the suites that log many users in (and fail logins on purpose) from 127.0.0.1:
 * raised explicitly, never switched off; test/acceptance/login-limits.test.ts proves the defaults.
 */
export const RAISED_LOGIN_LIMITS = {
  perAddress: { max: Number.MAX_SAFE_INTEGER },
  failuresPerUsername: { max: Number.MAX_SAFE_INTEGER },
} as const;

/** The demo pool every stack seeds. */
export const DEMO_POOL = {
  name: 'demo-pool',
  developerProviderName: 'login.demo.app',
  allowUnauthenticatedIdentities: true,
  supportedLoginProviders: { 'graph.facebook.com': 'demo-facebook-app' },
} as const;

export const DEMO_PROVIDER = 'graph.facebook.com';

/** A running example app on a real broker and a restartable emulator. */
export interface AppStack {
  readonly app: Express;
  readonly broker: Broker;
  /** The current emulator (a new object after {@link restartEmulator}). */
  emulator(): RunningEmulator;
  /** The app's users (the example app's demo users unless the options name others). */
  readonly users: readonly DemoUser[] | undefined;
  readonly identityPoolId: string;
  /** What the app and broker logged (through the package's `redactPaths`). */
  readonly logs: LogSink;
  /** Everything the app and broker logged. */
  logText(): string;
  /** Characters held by the in-memory log (test memory, not the product's). */
  logChars(): number;
  /** Calls of `broker.forgetUser`, by user id (recorded with `recordForgetUser` only). */
  readonly forgotten: string[];
  /** Stops the emulator: Cognito becomes unreachable (connection refused). */
  stopEmulator(): Promise<void>;
  /** Starts the emulator again on the same port with the same state: Cognito comes back. */
  restartEmulator(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppStackOptions {
  readonly broker?: Partial<BrokerOptions>;
  readonly app?: Partial<AppDeps>;
  /** The app's users; the example app's demo users when absent. */
  readonly users?: readonly DemoUser[];
  /**
   * Hands the app a wrapper of the broker that records `forgetUser` calls in `forgotten`. Off by
   * default: the app then gets the broker itself, fast paths included, as an app in production does.
   */
  readonly recordForgetUser?: boolean;
}

/**
 * Starts the emulator (its state in a temporary folder), a broker for the demo pool over a real SDK
 * client with no retries (a fault reaches the broker at once instead of after SDK backoff), and
 * `createApp()`; `options` override the broker's and the app's settings.
 *
 * @example
 * const s = await startAppStack({ users: hostileUsers(8), app: { rateLimit: false } });
 * try { await request(s.app).get('/aws/token'); } finally { await s.stop(); }
 */
export async function startAppStack(options: AppStackOptions = {}): Promise<AppStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cib-app-stack-'));
  const stateFile = join(dir, 'state.json');
  let emulator = await startEmulator({ host: '127.0.0.1', port: 0, seed: [DEMO_POOL], stateFile });
  const port = emulator.port;
  const logs = logSink({ redact: true });
  const pool = emulator.pools[0]!;
  const client = emulatorClient(emulator);
  const real = createBroker({
    identityPoolId: pool.identityPoolId,
    developerProviderName: DEMO_POOL.developerProviderName,
    client,
    logger: logs.logger,
    ...options.broker,
  });
  const forgotten: string[] = [];
  const broker: Broker =
    options.recordForgetUser === true
      ? {
          ...real,
          forgetUser: (userId) => {
            forgotten.push(userId);
            real.forgetUser(userId);
          },
        }
      : real;
  const app = createApp({
    broker,
    sessionSecret: 'app-stack-session-secret',
    logger: logs.logger,
    demoProvider: DEMO_PROVIDER,
    ...(options.users === undefined ? {} : { users: options.users }),
    mintProviderToken: (provider, subject) => emulator.mintProviderToken(provider, subject),
    ...options.app,
  });
  let running = true;
  return {
    app,
    broker,
    emulator: () => emulator,
    users: options.users,
    identityPoolId: pool.identityPoolId,
    forgotten,
    logs,
    logText: () => logs.text(),
    logChars: () => logs.chars(),
    async stopEmulator() {
      if (!running) return;
      running = false;
      await emulator.stop();
    },
    async restartEmulator() {
      if (running) return;
      emulator = await startEmulator({ host: '127.0.0.1', port, seed: [DEMO_POOL], stateFile });
      running = true;
    },
    async stop() {
      client.destroy();
      if (running) await emulator.stop();
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `count` demo users whose ids are hostile to naive cache keys: separators, quotes, unicode, 1024 chars. */
export function hostileUsers(count: number): DemoUser[] {
  const shapes = [
    (i: number) => `user-${i}`,
    (i: number) => `a|b:${i}`,
    (i: number) => `a|b:${i}|`,
    (i: number) => `"]["token","${i}`,
    (i: number) => `ユーザー-${i}-😀`,
    (i: number) => `${'x'.repeat(1000)}${String(i).padStart(24, '0')}`,
    (i: number) => `x\\u0000${i}`,
    (i: number) => `${i}`,
  ];
  return Array.from({ length: count }, (_, i) => ({
    id: shapes[i % shapes.length]!(i),
    username: `u${i}`,
    name: `User ${i}`,
    password: `pw-${i}-correct-horse`,
  }));
}
