// Fleet mode's settings of the example app: where Redis is (one node, `REDIS_URL`, or a cluster,
// `REDIS_CLUSTER_NODES`), and what every instance must share with the others. A value that may hold
// a password (a Redis URL) is never repeated in a message; an encryption key never is.
import { set, shown, StartupError, type Env } from './startup-error.js';

/** Fleet mode's settings, from `readConfig`. */
export interface FleetConfig {
  /** Where the fleet's Redis is: one node (`REDIS_URL`) or a cluster (`REDIS_CLUSTER_NODES`). */
  readonly redis: RedisTarget;
  /**
   * The Redis URL(s) with every password replaced by `***`: what a log line or the banner may show
   * (comma-separated for a cluster).
   */
  readonly redisUrlShown: string;
  /**
   * `CACHE_ENCRYPTION_KEYS`: `id:base64,id:base64`, each key 32 bytes (`openssl rand -base64 32`),
   * the same on every instance: they encrypt the broker's shared entries in Redis.
   */
  readonly encryptionKeys: Readonly<Record<string, string>>;
  /** `CACHE_ENCRYPTION_KEY_ID`: the key new entries are sealed with; required with more than one key. */
  readonly currentKeyId: string | undefined;
}

/**
 * `REDIS_URL`: `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS), one node; or
 * `REDIS_CLUSTER_NODES`: comma-separated seed URLs of a Redis Cluster (`redis://host:port` or
 * `rediss://…`, no database: a cluster has only database 0), from which the client discovers every
 * node. The seeds share one scheme and one user and password, which apply to every node found.
 */
export type RedisTarget =
  { readonly mode: 'single'; readonly url: string } | { readonly mode: 'cluster'; readonly seeds: readonly string[] };

const KEY_ID = /^[\w-]{1,32}$/;
const FLEET_FIX = 'or run npm run start:fleet for a local fleet (it sets them all)';
/** More seeds than any cluster needs to be found: a longer list is a mistake (a pasted file?). */
const MAX_SEEDS = 64;

/** `url` with its password masked. */
function masked(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== '') copy.password = '***';
  return copy.href;
}

/** A redis:// or rediss:// URL with a host, no query or fragment, and a database path that `db` accepts. */
function parseRedisUrl(value: string, db: (path: string) => boolean): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  if (url.hostname === '' || url.search !== '' || url.hash !== '' || !db(url.pathname)) return undefined;
  return url;
}

/** `REDIS_URL` with the password masked; `undefined` when it is no redis(s) URL (then it is never shown). */
function redisUrl(value: string): { url: string; shown: string } | undefined {
  const url = parseRedisUrl(value, (path) => path === '' || /^\/\d{0,2}$/.test(path));
  return url === undefined ? undefined : { url: value, shown: masked(url) };
}

/**
 * `REDIS_CLUSTER_NODES` checked: at least one seed, each a redis(s) URL without a database, no node
 * twice, one scheme and one user and password for all (node-redis gives every node it discovers the
 * same TLS setting and credentials). An error names an entry by its position, never its text.
 */
function clusterSeeds(value: string): { seeds: string[]; shown: string } {
  const fix =
    'Give REDIS_CLUSTER_NODES=redis://host1:6379,redis://host2:6379 (rediss:// for TLS, user:password@ for auth, the same on each)';
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_SEEDS) {
    throw new StartupError(`REDIS_CLUSTER_NODES has ${entries.length} entries; at most ${MAX_SEEDS} are read`, fix);
  }
  const urls: URL[] = [];
  const nodes = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (entry === '') throw new StartupError(`REDIS_CLUSTER_NODES entry ${i + 1} is empty`, fix);
    const url = parseRedisUrl(entry, (path) => path === '' || path === '/' || path === '/0');
    if (url === undefined) {
      throw new StartupError(
        `REDIS_CLUSTER_NODES entry ${i + 1} is not a redis:// or rediss:// URL of a cluster node (redis://[[user]:password@]host[:port], no database: a cluster has only database 0)`,
        fix,
      );
    }
    // host:port names no secret: it may be shown.
    const node = `${url.hostname}:${url.port === '' ? '6379' : url.port}`;
    if (nodes.has(node)) throw new StartupError(`REDIS_CLUSTER_NODES names ${node} twice`, fix);
    nodes.add(node);
    const first = urls[0];
    if (first !== undefined && url.protocol !== first.protocol) {
      throw new StartupError(
        `REDIS_CLUSTER_NODES entry ${i + 1} is ${url.protocol}// but entry 1 is ${first.protocol}//: the nodes of a cluster all take TLS (rediss://) or none do`,
        fix,
      );
    }
    if (first !== undefined && (url.username !== first.username || url.password !== first.password)) {
      throw new StartupError(
        `REDIS_CLUSTER_NODES entry ${i + 1} has another user or password than entry 1: every node of the cluster gets the same credentials`,
        fix,
      );
    }
    urls.push(url);
  }
  return { seeds: entries, shown: urls.map(masked).join(',') };
}

/** `CACHE_ENCRYPTION_KEYS` parsed; an error names the entry by its id or position, never the key. */
function encryptionKeys(value: string): Record<string, string> {
  const keys: Record<string, string> = {};
  const fix =
    'Give CACHE_ENCRYPTION_KEYS="k1:$(openssl rand -base64 32)" (id:base64 of 32 bytes, comma-separated), the same on every instance';
  const entries = value.split(',');
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon).trim();
    const key = colon < 0 ? '' : entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) {
      throw new StartupError(
        `CACHE_ENCRYPTION_KEYS entry ${i + 1} does not start with a key id (1-32 of A-Z a-z 0-9 _ -) and a colon`,
        fix,
      );
    }
    if (Object.hasOwn(keys, id)) throw new StartupError(`CACHE_ENCRYPTION_KEYS names key id "${id}" twice`, fix);
    // Canonical base64 only, as the fleet tier demands: a hex string or a passphrase is no key.
    const bytes = Buffer.from(key, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64') !== key) {
      throw new StartupError(`CACHE_ENCRYPTION_KEYS key "${id}" is not base64 of 32 bytes`, fix);
    }
    keys[id] = key;
  }
  return keys;
}

/** Where Redis is, from `REDIS_URL` or `REDIS_CLUSTER_NODES` (never both); undefined for neither. */
function redisTarget(env: Env): { redis: RedisTarget; shown: string; variable: string } | undefined {
  const url = set(env, 'REDIS_URL');
  const nodes = set(env, 'REDIS_CLUSTER_NODES');
  if (url !== undefined && nodes !== undefined) {
    throw new StartupError(
      'REDIS_URL and REDIS_CLUSTER_NODES are both set: the fleet uses one Redis, a single node (REDIS_URL) or a cluster (REDIS_CLUSTER_NODES)',
      'Unset one of them',
    );
  }
  if (nodes !== undefined) {
    const cluster = clusterSeeds(nodes);
    return { redis: { mode: 'cluster', seeds: cluster.seeds }, shown: cluster.shown, variable: 'REDIS_CLUSTER_NODES' };
  }
  if (url === undefined) return undefined;
  const redis = redisUrl(url);
  // The value may hold a password: it is never repeated when it does not parse.
  if (redis === undefined) {
    throw new StartupError(
      'REDIS_URL is not a redis:// or rediss:// URL (redis://[[user]:password@]host[:port][/db])',
      'Run for example: REDIS_URL=redis://127.0.0.1:6379 npm start',
    );
  }
  return { redis: { mode: 'single', url: redis.url }, shown: redis.shown, variable: 'REDIS_URL' };
}

/** Fleet mode's variables: all or none (besides the optional key id). */
export function readFleetConfig(
  env: Env,
  sessionSecret: string | undefined,
  poolId: string | undefined,
): FleetConfig | undefined {
  const target = redisTarget(env);
  const keys = set(env, 'CACHE_ENCRYPTION_KEYS');
  const keyId = set(env, 'CACHE_ENCRYPTION_KEY_ID');
  if (target === undefined) {
    const stray =
      keys !== undefined ? 'CACHE_ENCRYPTION_KEYS' : keyId !== undefined ? 'CACHE_ENCRYPTION_KEY_ID' : undefined;
    if (stray !== undefined) {
      throw new StartupError(
        `${stray} is set but neither REDIS_URL nor REDIS_CLUSTER_NODES is: the keys only serve fleet mode`,
        `Set REDIS_URL (or REDIS_CLUSTER_NODES) too, or unset ${stray}`,
      );
    }
    return undefined;
  }
  const on = `${target.variable} is set (fleet mode)`;
  // Every missing variable in one line: a start that fails once names everything left to set.
  const missing = [
    ...(sessionSecret === undefined ? ['SESSION_SECRET'] : []),
    ...(keys === undefined ? ['CACHE_ENCRYPTION_KEYS'] : []),
    ...(poolId === undefined ? ['COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER'] : []),
  ];
  if (missing.length > 2 || (missing.length === 2 && poolId !== undefined)) {
    throw new StartupError(
      `${on} but ${missing.slice(0, -1).join(', ')} and ${missing.at(-1) ?? ''} are not: every instance needs the same session secret, cache encryption keys and Cognito`,
      `Set each to one value on every instance (SESSION_SECRET="$(openssl rand -base64 32)", CACHE_ENCRYPTION_KEYS="k1:$(openssl rand -base64 32)"), ${FLEET_FIX}`,
    );
  }
  if (sessionSecret === undefined) {
    throw new StartupError(
      `${on} but SESSION_SECRET is not: every instance must sign session cookies with the same secret`,
      `Set SESSION_SECRET="$(openssl rand -base64 32)" to one value on every instance, ${FLEET_FIX}`,
    );
  }
  if (keys === undefined) {
    throw new StartupError(
      `${on} but CACHE_ENCRYPTION_KEYS is not: the broker's entries in Redis are encrypted with keys you give, never with one made up at start`,
      `Set CACHE_ENCRYPTION_KEYS="k1:$(openssl rand -base64 32)" to one value on every instance, ${FLEET_FIX}`,
    );
  }
  const encryption = encryptionKeys(keys);
  const ids = Object.keys(encryption);
  if (keyId !== undefined && !ids.includes(keyId)) {
    throw new StartupError(
      `CACHE_ENCRYPTION_KEY_ID=${shown(keyId)} is not a key id of CACHE_ENCRYPTION_KEYS (${ids.join(', ')})`,
      'Set it to the id of the key new entries are sealed with',
    );
  }
  if (keyId === undefined && ids.length > 1) {
    throw new StartupError(
      `CACHE_ENCRYPTION_KEYS holds ${ids.length} keys (${ids.join(', ')}) but CACHE_ENCRYPTION_KEY_ID is not set`,
      'Set CACHE_ENCRYPTION_KEY_ID to the id of the key new entries are sealed with',
    );
  }
  // Instances that each start an embedded emulator would each have their own pools and identities.
  if (poolId === undefined) {
    throw new StartupError(
      `${on} but COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: every instance needs the same Cognito, not an embedded emulator of its own`,
      `Set them (and AWS_ENDPOINT_URL_COGNITO_IDENTITY for an emulator started with npm run emulator), ${FLEET_FIX}`,
    );
  }
  return { redis: target.redis, redisUrlShown: target.shown, encryptionKeys: encryption, currentKeyId: keyId };
}
