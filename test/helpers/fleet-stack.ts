// Several brokers (instances of one app) over one real redis-server and one emulator, each broker
// with its own Redis connection and SDK client, as separate processes would have.
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js';
import { redisFleet, type BrokerFleet, type RedisFleetOptions } from '../../src/fleet/index.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import type { EmulatorOptions } from '../../src/emulator/types.js';
import { emulatorClient } from './emulator-sdk.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export const FLEET_PROVIDER = 'login.fleet.app';
export const FLEET_KEY = randomBytes(32).toString('base64');

function newClient(url: string) {
  return createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: () => 100 } });
}
export type RedisClient = ReturnType<typeof newClient>;

/** One instance: its broker, its fleet tier and its Redis connection. */
export interface FleetInstance {
  readonly broker: Broker;
  readonly fleet: BrokerFleet;
  readonly redis: RedisClient;
}

export interface FleetStack {
  readonly redisServer: RedisServer;
  readonly emu: RunningEmulator;
  readonly poolId: string;
  /** A Redis connection of the test's own (inspection, MONITOR, FLUSHALL). */
  readonly admin: RedisClient;
  /** Starts one more instance. */
  instance(options?: Partial<BrokerOptions>, fleetOptions?: Partial<RedisFleetOptions>): Promise<FleetInstance>;
  /** Emulator calls by operation since the start (or the last reset). */
  calls(): Record<string, number>;
  stop(): Promise<void>;
}

/** Every key of the server with its type and whole value, as one text. */
export async function dumpRedis(admin: RedisClient): Promise<string> {
  const out: string[] = [];
  for (const key of await admin.keys('*')) {
    const type = await admin.type(key);
    let value: unknown;
    if (type === 'string') value = await admin.get(key);
    else if (type === 'hash') value = await admin.hGetAll(key);
    else if (type === 'list') value = await admin.lRange(key, 0, -1);
    else value = `(${type})`;
    out.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return out.join('\n');
}

/** Connects a node-redis client to `url`, bounded in time; its errors are left to the fleet tier. */
export async function connectRedis(url: string): Promise<RedisClient> {
  const client = newClient(url);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function startFleetStack(emulatorOptions: Partial<EmulatorOptions> = {}): Promise<FleetStack> {
  const redisServer = await startRedisServer();
  const emu = await startEmulator({
    seed: [{ name: 'fleet', developerProviderName: FLEET_PROVIDER, allowUnauthenticatedIdentities: true }],
    ...emulatorOptions,
  });
  const poolId = emu.pools[0]?.identityPoolId ?? '';
  const admin = await connectRedis(redisServer.url);
  const instances: FleetInstance[] = [];
  const sdks: ReturnType<typeof emulatorClient>[] = [];
  return {
    redisServer,
    emu,
    poolId,
    admin,
    async instance(options = {}, fleetOptions = {}) {
      const redis = await connectRedis(redisServer.url);
      const fleet = redisFleet({ client: redis, encryptionKeys: { k1: FLEET_KEY }, ...fleetOptions });
      const sdk = emulatorClient(emu);
      sdks.push(sdk);
      const broker = createBroker({
        identityPoolId: poolId,
        developerProviderName: FLEET_PROVIDER,
        client: sdk,
        fleet,
        ...options,
      });
      const instance = { broker, fleet, redis };
      instances.push(instance);
      return instance;
    },
    calls: () => emu.counters(),
    async stop() {
      for (const i of instances) {
        await i.fleet.close();
        i.redis.destroy();
      }
      for (const sdk of sdks) sdk.destroy();
      admin.destroy();
      await emu.stop();
      await redisServer.stop();
    },
  };
}
