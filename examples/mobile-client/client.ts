// A stand-in for a mobile app: logs in to the example app over HTTP with a bearer token, asks
// `GET /aws/token` for its Cognito identity and OpenID token, and gets AWS credentials itself with
// the AWS SDK's `fromCognitoIdentity`, exactly as an iOS/Android developer-identity provider does.
//
//   npx tsx examples/mobile-client/client.ts http://127.0.0.1:3000 alice alice-demo-pass [cognito-endpoint]
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
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [appUrl = 'http://127.0.0.1:3000', username = 'alice', password = 'alice-demo-pass', cognitoEndpoint] =
    process.argv.slice(2);
  runMobileClient({ appUrl, username, password, ...(cognitoEndpoint === undefined ? {} : { cognitoEndpoint }) }).then(
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
