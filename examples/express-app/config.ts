// The example app's configuration: every environment variable server.ts reads, checked at once, so that
// a bad value stops the start with one line that names the variable and the fix.
import { isIP } from 'node:net';
import { readFleetConfig, type FleetConfig } from './fleet-config.js';
import { set, shown, StartupError, type Env } from './startup-error.js';

export { StartupError } from './startup-error.js';
export type { FleetConfig, RedisTarget } from './fleet-config.js';

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
  /**
   * Set when `REDIS_URL` or `REDIS_CLUSTER_NODES` is: fleet mode (sessions, bearer tokens and the
   * broker's shared tier in Redis).
   */
  readonly fleet: FleetConfig | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
const LOG_FORMATS = ['dev', 'json'] as const;
type LogFormat = (typeof LOG_FORMATS)[number];

// From the Cognito Identity service model: IdentityPoolId, DeveloperProviderName, IdentityProviderName.
const POOL_ID = /^[\w-]+:[0-9a-f-]+$/;
const DEVELOPER_PROVIDER = /^[\w._-]{1,128}$/;
const LOGIN_PROVIDER = /^[\w._/:-]{1,128}$/;
const LABEL = /^[A-Za-z0-9-]{1,63}$/;

function isHostName(host: string): boolean {
  return host.length <= 253 && host.split('.').every((l) => LABEL.test(l) && !l.startsWith('-') && !l.endsWith('-'));
}

function port(env: Env, name: string, fallback: number, example: string): number {
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
export function readConfig(env: Env): ExampleConfig {
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
