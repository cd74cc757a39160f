// A stand-in for a mobile app: logs in to the example app over HTTP with a bearer token, asks
// `GET /aws/token` for its Cognito identity and OpenID token, and gets AWS credentials itself with
// the AWS SDK's `fromCognitoIdentity`, exactly as an iOS/Android developer-identity provider does.
// How to run it against `npm start`: README.md beside this file.
//
//   npx tsx examples/mobile-client/client.ts [APP_URL [USERNAME PASSWORD [COGNITO_ENDPOINT]]]
import { pathToFileURL } from 'node:url';
import { fromCognitoIdentity } from '@aws-sdk/credential-providers';

/** Options of {@link runMobileClient}. */
export interface MobileClientOptions {
  /** The example app's base URL, e.g. `http://127.0.0.1:3000`. */
  readonly appUrl: string;
  readonly username: string;
  readonly password: string;
  /** The Cognito endpoint (the emulator's). Default: the real service for the pool's region. */
  readonly cognitoEndpoint?: string;
  /** A guest identity id to keep at login. */
  readonly guestIdentityId?: string;
}

/** What the client ends up with. Secrets are returned to the caller, never printed. */
export interface MobileClientResult {
  readonly identityId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date | undefined;
}

interface TokenBody {
  identityId: string;
  token: string;
  identityPoolId: string;
  loginsKey: string;
  expiresIn: number;
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    throw new Error(
      `cannot reach the app at ${new URL(url).origin}${typeof cause === 'string' ? ` (${cause})` : ''}: is npm start running there?`,
      { cause: err },
    );
  }
  if (!res.ok)
    throw new Error(`POST ${new URL(url).pathname} failed with ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

/**
 * Logs in, fetches `/aws/token` and exchanges it for credentials with `fromCognitoIdentity`.
 * @throws Error when a step fails (with the HTTP status and problem body, never a secret).
 */
export async function runMobileClient(options: MobileClientOptions): Promise<MobileClientResult> {
  const base = options.appUrl.replace(/\/$/, '');
  const login = (await postJson(`${base}/api/tokens`, {
    username: options.username,
    password: options.password,
    ...(options.guestIdentityId === undefined ? {} : { guestIdentityId: options.guestIdentityId }),
  })) as { accessToken: string };

  const res = await fetch(`${base}/aws/token`, { headers: { Authorization: `Bearer ${login.accessToken}` } });
  if (!res.ok) throw new Error(`GET /aws/token failed with ${res.status} ${(await res.text()).slice(0, 200)}`);
  const t = (await res.json()) as TokenBody;

  const region = t.identityPoolId.split(':')[0] ?? 'us-east-1';
  const provider = fromCognitoIdentity({
    identityId: t.identityId,
    logins: { [t.loginsKey]: t.token },
    clientConfig: { region, ...(options.cognitoEndpoint === undefined ? {} : { endpoint: options.cognitoEndpoint }) },
  });
  const c = await provider();
  return {
    identityId: c.identityId,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken ?? '',
    expiration: c.expiration,
  };
}

/** The command line's usage text. */
export const USAGE = `Usage: npx tsx examples/mobile-client/client.ts [APP_URL [USERNAME PASSWORD [COGNITO_ENDPOINT]]]

  APP_URL           the example app (default http://127.0.0.1:3000)
  USERNAME PASSWORD a demo login (default alice alice-demo-pass)
  COGNITO_ENDPOINT  where fromCognitoIdentity sends GetCredentialsForIdentity: the embedded
                    emulator's endpoint, which npm start prints ("Backend: embedded emulator at …";
                    fixed with EMULATOR_PORT=4566 npm start). Omit it for real Amazon Cognito.
`;

/** A command line the client cannot run with; the message names the bad argument. */
export class ClientUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientUsageError';
  }
}

function httpUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientUsageError(`${what} ${JSON.stringify(value)} is not a URL; expected e.g. http://127.0.0.1:3000`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new ClientUsageError(
      `${what} ${JSON.stringify(value)} must be an http:// or https:// URL without credentials`,
    );
  }
  return value;
}

/**
 * Parses the command line (without `node` and the script) into {@link MobileClientOptions}.
 * @throws ClientUsageError naming the bad argument.
 */
export function parseClientArgs(argv: readonly string[]): MobileClientOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  if (argv.length > 4) throw new ClientUsageError(`expected at most 4 arguments, got ${argv.length}`);
  if (argv.length === 2) throw new ClientUsageError('USERNAME needs a PASSWORD after it');
  const [appUrl = 'http://127.0.0.1:3000', username = 'alice', password = 'alice-demo-pass', cognitoEndpoint] = argv;
  if (username === '' || password === '') throw new ClientUsageError('USERNAME and PASSWORD must not be empty');
  return {
    appUrl: httpUrl(appUrl, 'APP_URL'),
    username,
    password,
    ...(cognitoEndpoint === undefined ? {} : { cognitoEndpoint: httpUrl(cognitoEndpoint, 'COGNITO_ENDPOINT') }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let options: MobileClientOptions | 'help';
  try {
    options = parseClientArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ClientUsageError)) throw err;
    process.stderr.write(`mobile-client: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  runMobileClient(options).then(
    (c) => {
      process.stdout.write(
        `identity ${c.identityId}\naccess key ${c.accessKeyId}\nexpires ${c.expiration?.toISOString() ?? 'unknown'}\n(secret key and session token not shown)\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
