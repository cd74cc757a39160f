import { emulatorClient } from './emulator-sdk.js';
import type { Express } from 'express';
import { createApp, type AppDeps } from '../../examples/express-app/app.js';
import { createBroker } from '../../src/broker/create-broker.js';
import type { Broker } from '../../src/broker/types.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { memoryLogger } from './memory-logger.js';

/** The demo pool every acceptance test seeds. */
export const DEMO_POOL = {
  name: 'demo-pool',
  developerProviderName: 'login.demo.app',
  allowUnauthenticatedIdentities: true,
  supportedLoginProviders: { 'graph.facebook.com': 'demo-facebook-app' },
} as const;

export const DEMO_PROVIDER = 'graph.facebook.com';

/** A running example app backed by a real broker on a real emulator on 127.0.0.1:0. */
export interface AppStack {
  readonly app: Express;
  readonly broker: Broker;
  readonly emulator: RunningEmulator;
  /** Everything the app and broker logged. */
  logText(): string;
  /** Calls of `broker.forgetUser`, by user id. */
  readonly forgotten: string[];
  stop(): Promise<void>;
}

/** Starts the emulator, a broker and `createApp()`; `appDeps` overrides the app's options. */
export async function startStack(appDeps: Partial<AppDeps> = {}): Promise<AppStack> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, seed: [DEMO_POOL] });
  const memory = memoryLogger();
  const logger = memory.logger;
  const pool = emulator.pools[0]!;
  // maxAttempts 1: throttling tests see the error at once instead of after SDK backoff.
  const client = emulatorClient(emulator);
  const real = createBroker({
    identityPoolId: pool.identityPoolId,
    developerProviderName: DEMO_POOL.developerProviderName,
    client,
    logger,
  });
  const forgotten: string[] = [];
  // Records forgetUser calls; everything else goes to the real (frozen) broker.
  const broker: Broker = {
    identityPoolId: real.identityPoolId,
    region: real.region,
    loginsKey: real.loginsKey,
    getToken: (userId, options) => real.getToken(userId, options),
    getCredentials: (userId, options) => real.getCredentials(userId, options),
    credentialProvider: (userId) => real.credentialProvider(userId),
    linkLogin: (userId, provider, token) => real.linkLogin(userId, provider, token),
    unlinkLogin: (userId, provider) => real.unlinkLogin(userId, provider),
    unlinkDeveloperUser: (userId) => real.unlinkDeveloperUser(userId),
    mergeUsers: (userId, source) => real.mergeUsers(userId, source),
    lookupIdentity: (userId) => real.lookupIdentity(userId),
    lookupUsers: (identityId, options) => real.lookupUsers(identityId, options),
    describeIdentity: (userId) => real.describeIdentity(userId),
    getGuestCredentials: (guestIdentityId) => real.getGuestCredentials(guestIdentityId),
    upgradeGuest: (userId, guestIdentityId) => real.upgradeGuest(userId, guestIdentityId),
    forgetUser: (userId) => {
      forgotten.push(userId);
      real.forgetUser(userId);
    },
    stats: () => real.stats(),
  };
  const app = createApp({
    broker,
    sessionSecret: 'acceptance-test-session-secret',
    logger,
    demoProvider: DEMO_PROVIDER,
    mintProviderToken: (provider, subject) => emulator.mintProviderToken(provider, subject),
    ...appDeps,
  });
  return {
    app,
    broker,
    emulator,
    forgotten,
    logText: () => memory.text(),
    async stop() {
      client.destroy();
      await emulator.stop();
    },
  };
}
