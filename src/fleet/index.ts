// `cognito-identity-broker/fleet`: the shared tier that lets several instances of an app cost
// Cognito what one does. Needs the `redis` package (node-redis) in the app; this module only calls
// the client it is given.
import { FLEET_BIND, type BrokerFleet, type FleetBinding, type FleetHost } from '../broker/fleet.js';
import { EntryCipher } from './cipher.js';
import { DEFAULT_EXPECTED_INSTANCES, DEFAULT_MAX_INSTANCES } from './quota-fallback.js';
import type { FleetRedisClient } from './runner.js';
import { RedisTier } from './tier.js';

export type { FleetStats } from '../broker/fleet.js';
export type { FleetRedisClient, FleetRedisSubscriber } from './runner.js';
export type { BrokerFleet };

/** Options of {@link redisFleet}. Validated once; a bad value is a `TypeError` naming it. */
export interface RedisFleetOptions {
  /**
   * A node-redis client (`createClient({ url })` of the `redis` package), connected by the app
   * (`await client.connect()`). The tier sends its commands on it and opens one more connection
   * (`client.duplicate()`) to hear the other instances; it adds an `'error'` listener to both, so a
   * lost connection never ends the process. Or a node-redis cluster (`createCluster({ rootNodes })`,
   * connected): each step then runs on the node of its keys' slot (a user's keys share one slot,
   * users spread over all), and changes go out on a sharded channel (Redis 7 or later).
   */
  readonly client: FleetRedisClient;
  /**
   * The keys that encrypt every shared entry (AES-256-GCM): key id → 32 bytes, as base64 or bytes
   * (`openssl rand -base64 32`). The same on every instance; never generated for you. To rotate,
   * add the new key, deploy, set `currentKeyId` to it, deploy; drop the old key once its entries
   * have expired (credentials last an hour, tokens `tokenDurationSeconds`). The names of Redis keys
   * are HMACs under a key derived from the key whose id sorts first: keep that one, or drop it with
   * the whole fleet stopped (every key is renamed).
   */
  readonly encryptionKeys: Readonly<Record<string, string | Uint8Array>>;
  /** The key new entries are sealed with. Required with more than one key. */
  readonly currentKeyId?: string;
  /** Prefix of every Redis key and channel, 1–64 characters of `[A-Za-z0-9_:-]`. Default `cib`. */
  readonly prefix?: string;
  /**
   * Longest wait for one Redis answer, ms, before the step works per process and the tier
   * degrades for `retryMs`. Integer in [5, 10000]. Default `250`.
   */
  readonly commandTimeoutMs?: number;
  /** How long the tier stays degraded after a Redis failure before trying again, ms. Integer in [50, 60000]. Default `1000`. */
  readonly retryMs?: number;
  /**
   * How often each instance checks the change log for changes whose message it missed, ms: an
   * instance serves a changed identity for at most this (plus one Redis round trip) after another
   * instance changed it, even if it lost the message. Integer in [50, 60000]. Default `1000`.
   */
  readonly syncIntervalMs?: number;
  /**
   * How many instances the fleet runs (the fewest, if it scales). While Redis cannot be used, each
   * instance takes its share of the quota: the bucket ÷ the live instances its heartbeat last
   * counted, never fewer than this; an instance that never reached Redis (started during an
   * outage) assumes this many, so that instances started together do not each take the whole
   * quota. Set it to 1 for a single instance (it would otherwise keep a third of the quota during
   * an outage). Integer in [1, 1000]. Default `3`.
   */
  readonly expectedInstances?: number;
  /**
   * The most instances the fleet ever runs: a heartbeat count above it (a Redis writer's fake
   * members) is taken as this, so that it cannot shrink every share to nothing. Integer in
   * [`expectedInstances`, 100000]. Default `100` (or `expectedInstances`, if larger).
   */
  readonly maxInstances?: number;
}

const KNOWN = new Set([
  'client',
  'encryptionKeys',
  'currentKeyId',
  'prefix',
  'commandTimeoutMs',
  'retryMs',
  'syncIntervalMs',
  'expectedInstances',
  'maxInstances',
]);
const PREFIX = /^[\w:-]{1,64}$/;

function fail(message: string): never {
  throw new TypeError(`redisFleet: ${message}`);
}

function integer(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function instances(expected: unknown, max: unknown): { expectedInstances: number; maxInstances: number } {
  const expectedInstances = integer(expected, 'expectedInstances', DEFAULT_EXPECTED_INSTANCES, 1, 1000);
  const floor = Math.max(DEFAULT_MAX_INSTANCES, expectedInstances);
  const maxInstances = integer(max, 'maxInstances', floor, expectedInstances, 100_000);
  return { expectedInstances, maxInstances };
}

/**
 * The fleet tier on Redis, for `createBroker({ fleet })`: tokens, credentials and scoped
 * credentials (the classic flow) shared by every instance (encrypted), one Cognito (or STS) load
 * per entry fleet-wide, changes (link, unlink, merge, `forgetUser`) published to every instance, the guest-upgrade lock, the per-user budgets and the
 * quota buckets shared. The in-process cache stays the first level: a cached user costs no Redis
 * round trip. When Redis fails, each step works per process (one warning log line,
 * `stats().fleet.state === 'degraded'`) and sharing resumes when it answers; identity-changing
 * operations are then refused (`ERR_FLEET_UNAVAILABLE`, 503) before Cognito is called. Redis must
 * run with `maxmemory-policy noeviction` (checked at start where `CONFIG GET` is allowed).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { createBroker } from 'cognito-identity-broker';
 * import { redisFleet } from 'cognito-identity-broker/fleet';
 *
 * const redis = createClient({ url: process.env.REDIS_URL });
 * await redis.connect();
 * const fleet = redisFleet({ client: redis, encryptionKeys: { k1: process.env.CACHE_KEY_K1 ?? '' } });
 * const broker = createBroker({ identityPoolId, developerProviderName, fleet });
 * // at shutdown
 * await fleet.close();
 * await redis.close();
 * ```
 * @throws TypeError naming the bad option.
 */
export function redisFleet(options: RedisFleetOptions): BrokerFleet {
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) fail('options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) fail(`unknown option ${JSON.stringify(key)}`);
  }
  const client: unknown = options.client;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof (client as Partial<FleetRedisClient>).evalSha !== 'function' ||
    typeof (client as Partial<FleetRedisClient>).duplicate !== 'function'
  ) {
    fail('client must be a node-redis client (createClient() of the redis package, v6)');
  }
  const cipher = new EntryCipher(options.encryptionKeys, options.currentKeyId);
  const prefix: unknown = options.prefix ?? 'cib';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) fail('prefix must be 1–64 characters of [A-Za-z0-9_:-]');
  const tierOptions = {
    client: options.client,
    cipher,
    prefix,
    commandTimeoutMs: integer(options.commandTimeoutMs, 'commandTimeoutMs', 250, 5, 10_000),
    retryMs: integer(options.retryMs, 'retryMs', 1000, 50, 60_000),
    syncIntervalMs: integer(options.syncIntervalMs, 'syncIntervalMs', 1000, 50, 60_000),
    ...instances(options.expectedInstances, options.maxInstances),
  };
  let tier: RedisTier | undefined;
  return Object.freeze({
    [FLEET_BIND]: (host: FleetHost): FleetBinding => {
      if (tier !== undefined)
        throw new TypeError('createBroker: this fleet already serves another broker; make one per broker');
      tier = new RedisTier(tierOptions, host);
      return tier;
    },
    close: async (): Promise<void> => {
      await tier?.close();
    },
  });
}
