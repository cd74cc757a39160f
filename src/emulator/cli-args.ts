import { parseArgs } from 'node:util';
import { isRegion } from './tokens.js';
import type { EmulatorCredentials, EmulatorOptions, SeedPool } from './types.js';

/** Usage text of the `cognito-identity-emulator` bin. */
export const USAGE = `Usage: cognito-identity-emulator [options]

Runs an offline Amazon Cognito Identity service (AWS JSON 1.1) for the AWS SDK and CLI.
Prints its endpoint (http://HOST:PORT) alone on the first line once it accepts connections,
then one JSON line per seeded pool. Stops on SIGINT or SIGTERM.

Options:
  --host HOST                      interface to bind (default 127.0.0.1)
  --port PORT                      port, 0 for any free one (default 0)
  --region REGION                  default region: of seeded pools and of unsigned calls that
                                   name no pool or identity (default us-east-1); every region
                                   is served, a signed call in its credential scope's region
  --quotas MODE                    aws: the service's documented rate quotas per region
                                   (TooManyRequestsException past them); none (default)
  --state-file FILE                keep pools, identities and keys in FILE across restarts;
                                   an answer means the change is on disk (in FILE.log, folded
                                   into FILE at start, at stop and when it grows); FILE.lock
                                   keeps a second emulator off FILE (it exits 1, naming the holder)
  --state-log-bytes BYTES          fold FILE.log into FILE once it is larger than BYTES and
                                   than FILE (default 8388608)
  --seed NAME[:DEVELOPER_PROVIDER] create this pool at start unless it exists (repeatable)
  --allow-guests                   seeded pools allow unauthenticated identities
  --login-provider PROVIDER=APPID  seeded pools support this login provider, e.g.
                                   graph.facebook.com=1234567890 (repeatable)
  --strict-sigv4 KEY:SECRET        verify SigV4 signatures against this key pair (repeatable)
  --no-control                     do not serve the /__emulator/ control endpoint
  -h, --help                       print this help
`;

/** A command line the emulator cannot run with; the bin prints the message and exits with 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** The parsed command line: options for `startEmulator()`, or a request for help. */
export type CliCommand = { help: true } | { help: false; options: EmulatorOptions };

const POOL_NAME = /^[\w\s+=,.@-]{1,128}$/;
const DEVELOPER_PROVIDER = /^[\w._-]{1,128}$/;
const LOGIN_PROVIDER = /^[\w._/:-]{1,128}$/;
const APP_ID = /^[\w.,-]{1,128}$/;

/**
 * Parses the bin's arguments (without `node` and the script).
 * @throws CliUsageError naming the bad argument.
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        region: { type: 'string' },
        quotas: { type: 'string' },
        'state-file': { type: 'string' },
        'state-log-bytes': { type: 'string' },
        seed: { type: 'string', multiple: true },
        'allow-guests': { type: 'boolean' },
        'login-provider': { type: 'string', multiple: true },
        'strict-sigv4': { type: 'string', multiple: true },
        'no-control': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  if (values.help === true) return { help: true };

  const options: { -readonly [K in keyof EmulatorOptions]: EmulatorOptions[K] } = {};
  if (values.host !== undefined) {
    if (!/^[\w.:-]{1,253}$/.test(values.host))
      throw new CliUsageError(`--host ${JSON.stringify(values.host)} is not a host name or address`);
    options.host = values.host;
  }
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d{1,5}$/.test(values.port) || port > 65535)
      throw new CliUsageError(`--port must be an integer in [0, 65535], got ${JSON.stringify(values.port)}`);
    options.port = port;
  }
  if (values.region !== undefined) {
    if (!isRegion(values.region))
      throw new CliUsageError(`--region must look like us-east-1, got ${JSON.stringify(values.region)}`);
    options.region = values.region;
  }
  if (values.quotas !== undefined) {
    if (values.quotas !== 'aws' && values.quotas !== 'none')
      throw new CliUsageError(`--quotas must be aws or none, got ${JSON.stringify(values.quotas)}`);
    options.quotas = values.quotas;
  }
  if (values['state-file'] !== undefined) {
    if (values['state-file'] === '') throw new CliUsageError('--state-file needs a path');
    options.stateFile = values['state-file'];
  }
  const logBytes = values['state-log-bytes'];
  if (logBytes !== undefined) {
    if (!/^\d{1,15}$/.test(logBytes))
      throw new CliUsageError(`--state-log-bytes must be a non-negative integer, got ${JSON.stringify(logBytes)}`);
    if (options.stateFile === undefined) throw new CliUsageError('--state-log-bytes applies to --state-file FILE');
    options.stateLogBytes = Number(logBytes);
  }

  const supportedLoginProviders: Record<string, string> = {};
  for (const spec of values['login-provider'] ?? []) {
    const eq = spec.indexOf('=');
    const provider = spec.slice(0, eq);
    const appId = spec.slice(eq + 1);
    if (eq < 0 || !LOGIN_PROVIDER.test(provider) || !APP_ID.test(appId)) {
      throw new CliUsageError(
        `--login-provider must be PROVIDER=APPID (e.g. graph.facebook.com=1234), got ${JSON.stringify(spec)}`,
      );
    }
    supportedLoginProviders[provider] = appId;
  }
  const allowGuests = values['allow-guests'] === true;
  const seeds = values.seed ?? [];
  if (seeds.length === 0 && (allowGuests || Object.keys(supportedLoginProviders).length > 0)) {
    throw new CliUsageError(
      '--allow-guests and --login-provider apply to seeded pools: add --seed NAME[:DEVELOPER_PROVIDER]',
    );
  }
  const seed: SeedPool[] = [];
  const names = new Set<string>();
  for (const spec of seeds) {
    const colon = spec.indexOf(':');
    const name = colon < 0 ? spec : spec.slice(0, colon);
    const developerProviderName = colon < 0 ? undefined : spec.slice(colon + 1);
    if (!POOL_NAME.test(name))
      throw new CliUsageError(
        `--seed: pool name ${JSON.stringify(name)} must be 1-128 of letters, digits, spaces and +=,.@-_`,
      );
    if (developerProviderName !== undefined && !DEVELOPER_PROVIDER.test(developerProviderName)) {
      throw new CliUsageError(
        `--seed: developer provider ${JSON.stringify(developerProviderName)} must be 1-128 of letters, digits and ._-`,
      );
    }
    if (names.has(name)) throw new CliUsageError(`--seed: pool ${JSON.stringify(name)} is given twice`);
    names.add(name);
    seed.push({
      name,
      ...(developerProviderName === undefined ? {} : { developerProviderName }),
      ...(allowGuests ? { allowUnauthenticatedIdentities: true } : {}),
      ...(Object.keys(supportedLoginProviders).length > 0
        ? { supportedLoginProviders: { ...supportedLoginProviders } }
        : {}),
    });
  }
  if (seed.length > 0) options.seed = seed;

  const strict: EmulatorCredentials[] = [];
  for (const spec of values['strict-sigv4'] ?? []) {
    const colon = spec.indexOf(':');
    const accessKeyId = spec.slice(0, colon);
    const secretAccessKey = spec.slice(colon + 1);
    if (colon <= 0 || secretAccessKey === '' || !/^\w{1,128}$/.test(accessKeyId)) {
      throw new CliUsageError('--strict-sigv4 must be ACCESS_KEY_ID:SECRET_ACCESS_KEY');
    }
    strict.push({ accessKeyId, secretAccessKey });
  }
  if (strict.length > 0) options.strictSigV4 = strict;
  if (values['no-control'] === true) options.controlEndpoint = false;
  return { help: false, options };
}
