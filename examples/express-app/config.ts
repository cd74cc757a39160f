// The example app's configuration: every environment variable server.ts reads, checked at once, so that
// a bad value stops the start with one line that names the variable and the fix.
import { isIP } from 'node:net';

/** What server.ts runs with, read from the environment by {@link readConfig}. */
export interface ExampleConfig {
  /** `HOST`: the interface the app binds (default `127.0.0.1`). */
  readonly host: string;
  /** `PORT`: the app's port, 0 for any free one (default 3000). */
  readonly port: number;
  /**
   * Set when both `COGNITO_IDENTITY_POOL_ID` and `COGNITO_DEVELOPER_PROVIDER` are: real Amazon Cognito
   * (only one of them is a `StartupError`).
   */
  readonly cognito: { readonly identityPoolId: string; readonly developerProviderName: string } | undefined;
  /** `EMULATOR_PORT`: the embedded emulator's port, 0 for any free one (default 0). */
  readonly emulatorPort: number;
  /** `EMULATOR_STATE_FILE`: where the embedded emulator keeps its state (default `.state/emulator.json` here). */
  readonly emulatorStateFile: string | undefined;
  /** `COGNITO_LINK_PROVIDER`: the login provider users may link (default `graph.facebook.com`). */
  readonly linkProvider: string;
  /** `COGNITO_ALLOW_GUESTS`: `true` or `false`; unset means guests with the emulator only. */
  readonly allowGuests: boolean | undefined;
  /** `SESSION_SECRET`: at least 16 characters; unset means a random secret per start. */
  readonly sessionSecret: string | undefined;
  /** `LOG_LEVEL`: a pino level (default `info`). */
  readonly logLevel: LogLevel;
  /**
   * `LOG_FORMAT`: `dev` (default), one short readable line per request (method, path, status, ms) and
   * per message; `json`, pino's JSON lines, for a log collector.
   */
  readonly logFormat: LogFormat;
  /**
   * `TRUST_PROXY`: Express's `trust proxy` behind a reverse proxy, so that the login limits see the
   * client's address and the CSRF check the public origin: a hop count (`1`), `true`/`false`, or
   * comma-separated addresses and subnets. Unset: no proxy is trusted.
   */
  readonly trustProxy: boolean | number | string | undefined;
  /**
   * `AWS_ENDPOINT_URL_COGNITO_IDENTITY` (the AWS SDK's own variable, read by the SDK itself): where
   * the Cognito calls of real-Cognito mode go, e.g. an emulator started on its own
   * (`npm run emulator`). Only with `COGNITO_IDENTITY_POOL_ID` and `COGNITO_DEVELOPER_PROVIDER`.
   */
  readonly cognitoEndpoint: string | undefined;
  /** Set when `REDIS_URL` is: fleet mode (sessions, bearer tokens and the broker's shared tier in Redis). */
  readonly fleet: FleetConfig | undefined;
}

/** Fleet mode's settings, from {@link readConfig}. */
export interface FleetConfig {
  /** `REDIS_URL`: `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). */
  readonly redisUrl: string;
  /** {@link redisUrl} with its password replaced by `***`: what a log line or the banner may show. */
  readonly redisUrlShown: string;
  /**
   * `CACHE_ENCRYPTION_KEYS`: `id:base64,id:base64`, each key 32 bytes (`openssl rand -base64 32`),
   * the same on every instance: they encrypt the broker's shared entries in Redis.
   */
  readonly encryptionKeys: Readonly<Record<string, string>>;
  /** `CACHE_ENCRYPTION_KEY_ID`: the key new entries are sealed with; required with more than one key. */
  readonly currentKeyId: string | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
const LOG_FORMATS = ['dev', 'json'] as const;
type LogFormat = (typeof LOG_FORMATS)[number];

/** A start the app refuses: `message` names the problem, `fix` says what to run instead. */
export class StartupError extends Error {
  readonly fix: string;
  /** The process exit code: 2 for a bad setting, 1 for a failure to start with good settings. */
  readonly exitCode: 1 | 2;
  constructor(message: string, fix: string, exitCode: 1 | 2 = 2) {
    super(message);
    this.name = 'StartupError';
    this.fix = fix;
    this.exitCode = exitCode;
  }

  /** The one line the app prints before it exits. */
  line(): string {
    return `cannot start the example app: ${this.message}. ${this.fix}`;
  }
}

// From the Cognito Identity service model: IdentityPoolId, DeveloperProviderName, IdentityProviderName.
const POOL_ID = /^[\w-]+:[0-9a-f-]+$/;
const DEVELOPER_PROVIDER = /^[\w._-]{1,128}$/;
const LOGIN_PROVIDER = /^[\w._/:-]{1,128}$/;
const LABEL = /^[A-Za-z0-9-]{1,63}$/;

function isHostName(host: string): boolean {
  return host.length <= 253 && host.split('.').every((l) => LABEL.test(l) && !l.startsWith('-') && !l.endsWith('-'));
}

/** A value quoted for a message: JSON escapes control characters, and long values are cut. */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function set(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  // An empty value (`PORT= npm start`) means unset, as for most shells' tools.
  return value === undefined || value === '' ? undefined : value;
}

function port(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  example: string,
): number {
  const value = set(env, name);
  if (value === undefined) return fallback;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n > 65_535) {
    throw new StartupError(
      `${name}=${shown(value)} is not a port number (an integer from 0 to 65535; 0 picks a free port)`,
      `Run for example: ${name}=${example} npm start`,
    );
  }
  return n;
}

/**
 * Reads and checks the example app's environment.
 * @throws StartupError naming the first bad variable and a command line that works.
 */
export function readConfig(env: Readonly<Record<string, string | undefined>>): ExampleConfig {
  const host = set(env, 'HOST') ?? '127.0.0.1';
  if (isIP(host) === 0 && !isHostName(host)) {
    throw new StartupError(
      `HOST=${shown(host)} is neither an IP address nor a host name`,
      'Run for example: HOST=127.0.0.1 npm start',
    );
  }
  const appPort = port(env, 'PORT', 3000, '3001');
  const emulatorPort = port(env, 'EMULATOR_PORT', 0, '4566');

  const poolId = set(env, 'COGNITO_IDENTITY_POOL_ID');
  if (poolId !== undefined && (poolId.length > 55 || !POOL_ID.test(poolId))) {
    throw new StartupError(
      `COGNITO_IDENTITY_POOL_ID=${shown(poolId)} is not an identity pool id (REGION:GUID)`,
      'Use the id the Cognito console shows, e.g. COGNITO_IDENTITY_POOL_ID=us-east-1:0f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b',
    );
  }
  const devProvider = set(env, 'COGNITO_DEVELOPER_PROVIDER');
  if (devProvider !== undefined && !DEVELOPER_PROVIDER.test(devProvider)) {
    throw new StartupError(
      `COGNITO_DEVELOPER_PROVIDER=${shown(devProvider)} is not a developer provider name (1-128 of A-Z a-z 0-9 . _ -)`,
      "Use the pool's developer provider name, e.g. COGNITO_DEVELOPER_PROVIDER=login.example.app",
    );
  }

  // Half of the real-Cognito settings is a mistake, never a reason to fall back to the emulator.
  if ((poolId === undefined) !== (devProvider === undefined)) {
    const [given, missing] =
      poolId === undefined
        ? ['COGNITO_DEVELOPER_PROVIDER', 'COGNITO_IDENTITY_POOL_ID']
        : ['COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER'];
    throw new StartupError(
      `${given} is set but ${missing} is not: Amazon Cognito needs both`,
      `Set ${missing} too, or unset ${given} for the embedded emulator`,
    );
  }

  const linkProvider = set(env, 'COGNITO_LINK_PROVIDER') ?? 'graph.facebook.com';
  if (!LOGIN_PROVIDER.test(linkProvider) || linkProvider.startsWith('cognito-identity.')) {
    throw new StartupError(
      `COGNITO_LINK_PROVIDER=${shown(linkProvider)} is not a public login provider name`,
      'Run for example: COGNITO_LINK_PROVIDER=graph.facebook.com npm start',
    );
  }

  const guests = set(env, 'COGNITO_ALLOW_GUESTS');
  if (guests !== undefined && guests !== 'true' && guests !== 'false') {
    throw new StartupError(
      `COGNITO_ALLOW_GUESTS=${shown(guests)} is neither true nor false`,
      'Run with COGNITO_ALLOW_GUESTS=true (the pool allows unauthenticated identities) or COGNITO_ALLOW_GUESTS=false',
    );
  }

  const sessionSecret = set(env, 'SESSION_SECRET');
  // The secret itself never goes into the message.
  if (sessionSecret !== undefined && sessionSecret.length < 16) {
    throw new StartupError(
      `SESSION_SECRET is ${sessionSecret.length} characters long; it needs at least 16`,
      'Run for example: SESSION_SECRET="$(openssl rand -base64 32)" npm start, or leave it unset for a random one',
    );
  }

  const logLevel = set(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new StartupError(
      `LOG_LEVEL=${shown(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`,
      'Run for example: LOG_LEVEL=debug npm start',
    );
  }

  const logFormat = set(env, 'LOG_FORMAT') ?? 'dev';
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new StartupError(
      `LOG_FORMAT=${shown(logFormat)} is neither dev nor json`,
      'Run for example: LOG_FORMAT=json npm start (JSON lines for a log collector)',
    );
  }

  const cognitoEndpoint = set(env, 'AWS_ENDPOINT_URL_COGNITO_IDENTITY');
  if (cognitoEndpoint !== undefined) {
    if (!isEndpoint(cognitoEndpoint)) {
      throw new StartupError(
        `AWS_ENDPOINT_URL_COGNITO_IDENTITY=${shown(cognitoEndpoint)} is not an http(s) URL without credentials, query or fragment`,
        'Run for example: AWS_ENDPOINT_URL_COGNITO_IDENTITY=http://127.0.0.1:4566 (the endpoint npm run emulator prints)',
      );
    }
    // The embedded emulator's client names its own endpoint: the variable would be ignored silently.
    if (poolId === undefined) {
      throw new StartupError(
        'AWS_ENDPOINT_URL_COGNITO_IDENTITY is set but COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: the embedded emulator would ignore it',
        'Set both to the pool of the Cognito at that endpoint, or unset AWS_ENDPOINT_URL_COGNITO_IDENTITY',
      );
    }
  }

  const fleet = readFleetConfig(env, sessionSecret, poolId);

  const trustProxy = set(env, 'TRUST_PROXY');
  if (trustProxy !== undefined && !isTrustProxy(trustProxy)) {
    throw new StartupError(
      `TRUST_PROXY=${shown(trustProxy)} is not a hop count, true/false, or a list of addresses and subnets`,
      'Run for example: TRUST_PROXY=1 npm start (one reverse proxy in front of the app)',
    );
  }

  return {
    host,
    port: appPort,
    cognito:
      poolId !== undefined && devProvider !== undefined
        ? { identityPoolId: poolId, developerProviderName: devProvider }
        : undefined,
    emulatorPort,
    emulatorStateFile: set(env, 'EMULATOR_STATE_FILE'),
    linkProvider,
    allowGuests: guests === undefined ? undefined : guests === 'true',
    sessionSecret,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
    trustProxy: trustProxySetting(trustProxy),
    cognitoEndpoint,
    fleet,
  };
}

function isEndpoint(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    !value.includes('#') &&
    !value.includes('?')
  );
}

const KEY_ID = /^[\w-]{1,32}$/;
const FLEET_FIX = 'or run npm run start:fleet for a local fleet (it sets them all)';

/** `REDIS_URL` with the password masked; `undefined` when it is no redis(s) URL (then it is never shown). */
function redisUrl(value: string): { url: string; shown: string } | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  const db = url.pathname === '' || url.pathname === '/' || /^\/\d{1,2}$/.test(url.pathname);
  if (url.hostname === '' || url.search !== '' || url.hash !== '' || !db) return undefined;
  const masked = new URL(value);
  if (masked.password !== '') masked.password = '***';
  return { url: value, shown: masked.href };
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

/** Fleet mode's variables: all or none (besides the optional key id). */
function readFleetConfig(
  env: Readonly<Record<string, string | undefined>>,
  sessionSecret: string | undefined,
  poolId: string | undefined,
): FleetConfig | undefined {
  const url = set(env, 'REDIS_URL');
  const keys = set(env, 'CACHE_ENCRYPTION_KEYS');
  const keyId = set(env, 'CACHE_ENCRYPTION_KEY_ID');
  if (url === undefined) {
    const stray =
      keys !== undefined ? 'CACHE_ENCRYPTION_KEYS' : keyId !== undefined ? 'CACHE_ENCRYPTION_KEY_ID' : undefined;
    if (stray !== undefined) {
      throw new StartupError(
        `${stray} is set but REDIS_URL is not: the keys only serve fleet mode`,
        `Set REDIS_URL too, or unset ${stray}`,
      );
    }
    return undefined;
  }
  const redis = redisUrl(url);
  // The value may hold a password: it is never repeated when it does not parse.
  if (redis === undefined) {
    throw new StartupError(
      'REDIS_URL is not a redis:// or rediss:// URL (redis://[[user]:password@]host[:port][/db])',
      'Run for example: REDIS_URL=redis://127.0.0.1:6379 npm start',
    );
  }
  // Every missing variable in one line: a start that fails once names everything left to set.
  const missing = [
    ...(sessionSecret === undefined ? ['SESSION_SECRET'] : []),
    ...(keys === undefined ? ['CACHE_ENCRYPTION_KEYS'] : []),
    ...(poolId === undefined ? ['COGNITO_IDENTITY_POOL_ID', 'COGNITO_DEVELOPER_PROVIDER'] : []),
  ];
  if (missing.length > 2 || (missing.length === 2 && poolId !== undefined)) {
    throw new StartupError(
      `REDIS_URL is set (fleet mode) but ${missing.slice(0, -1).join(', ')} and ${missing.at(-1) ?? ''} are not: every instance needs the same session secret, cache encryption keys and Cognito`,
      `Set each to one value on every instance (SESSION_SECRET="$(openssl rand -base64 32)", CACHE_ENCRYPTION_KEYS="k1:$(openssl rand -base64 32)"), ${FLEET_FIX}`,
    );
  }
  if (sessionSecret === undefined) {
    throw new StartupError(
      'REDIS_URL is set (fleet mode) but SESSION_SECRET is not: every instance must sign session cookies with the same secret',
      `Set SESSION_SECRET="$(openssl rand -base64 32)" to one value on every instance, ${FLEET_FIX}`,
    );
  }
  if (keys === undefined) {
    throw new StartupError(
      "REDIS_URL is set (fleet mode) but CACHE_ENCRYPTION_KEYS is not: the broker's entries in Redis are encrypted with keys you give, never with one made up at start",
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
      'REDIS_URL is set (fleet mode) but COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER are not: every instance needs the same Cognito, not an embedded emulator of its own',
      `Set them (and AWS_ENDPOINT_URL_COGNITO_IDENTITY for an emulator started with npm run emulator), ${FLEET_FIX}`,
    );
  }
  return { redisUrl: redis.url, redisUrlShown: redis.shown, encryptionKeys: encryption, currentKeyId: keyId };
}

/** A hop count, true/false, or comma-separated IP addresses and subnets (`10.0.0.0/8`, `::1`). */
function isTrustProxy(value: string): boolean {
  if (/^\d{1,2}$/.test(value) || value === 'true' || value === 'false') return true;
  return value.split(',').every((part) => {
    const [address = '', prefix, ...rest] = part.trim().split('/');
    return rest.length === 0 && isIP(address) !== 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix));
  });
}

function trustProxySetting(value: string | undefined): boolean | number | string | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * Turns a failure to bind a port into a {@link StartupError}; other errors pass through unchanged.
 * @param what `'PORT'` or `'EMULATOR_PORT'`, the variable that chose the port.
 * @param freePort a port found free just now, for the suggested command line (0 when none was found).
 */
export function listenFailure(
  err: unknown,
  what: 'PORT' | 'EMULATOR_PORT',
  host: string,
  port: number,
  freePort: number,
): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const retry = `Run for example: ${what}=${freePort} npm start`;
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(
        `${what === 'PORT' ? 'port' : "the emulator's port"} ${port} on ${host} is already in use (another npm start?)`,
        `Stop that process, or ${retry.charAt(0).toLowerCase()}${retry.slice(1)}`,
        1,
      );
    case 'EACCES':
      return new StartupError(`this user may not listen on port ${port} of ${host}`, retry, 1);
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `HOST=${shown(host)} is not an address of this machine`,
        'Run for example: HOST=127.0.0.1 npm start',
        1,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`HOST=${shown(host)} does not resolve`, 'Run for example: HOST=127.0.0.1 npm start', 1);
    default:
      return err;
  }
}
