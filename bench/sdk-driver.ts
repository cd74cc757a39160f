// The emulator figure's client, in its own process (run with --cpu-prof): the real AWS SDK calling
// GetOpenIdTokenForDeveloperIdentity for new users, then GetCredentialsForIdentity, then STS GetCallerIdentity
// signed with the minted credentials, as fast as `concurrency` allows.
import { performance } from 'node:perf_hooks';
import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { EmulatorReady } from './emulator-server.js';
import { serveParent } from './lib/ipc.js';

/** One phase: calls per second and its bounds on the monotonic clock (µs, as in .cpuprofile files). */
export interface DriverPhase {
  readonly calls: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly startUs: number;
  readonly endUs: number;
}

/** How many sets of minted credentials sign GetCallerIdentity calls. */
const STS_CLIENTS = 64;

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function run({
  emulator,
  seconds,
  concurrency,
}: {
  emulator: EmulatorReady;
  seconds: number;
  concurrency: number;
}) {
  const client = new CognitoIdentityClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLEDEVELOPER', secretAccessKey: 'emulator-developer-secret' },
    maxAttempts: 1,
  });
  const tokens: { id: string; token: string }[] = [];
  const phase = async (call: (i: number) => Promise<void>, warmUpSeconds: number): Promise<DriverPhase> => {
    let n = 0;
    let stopAt = performance.now() + warmUpSeconds * 1000;
    const loop = async (): Promise<void> => {
      while (performance.now() < stopAt) await call(n++);
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    n = 0;
    const startUs = monoUs();
    const t0 = performance.now();
    stopAt = t0 + seconds * 1000;
    await Promise.all(Array.from({ length: concurrency }, loop));
    const elapsed = (performance.now() - t0) / 1000;
    return { calls: n, seconds: elapsed, callsPerSecond: n / elapsed, startUs, endUs: monoUs() };
  };
  // Warm-up and measured calls number their users apart: every call is a new user, so every call
  // creates an identity (a change of state, which a durable emulator commits before answering).
  let phaseNo = 0;
  const openId = await phase(async (i) => {
    if (i === 0) phaseNo++;
    const out = await client.send(
      new GetOpenIdTokenForDeveloperIdentityCommand({
        IdentityPoolId: emulator.identityPoolId,
        Logins: { [emulator.developerProviderName]: `driver-user-${phaseNo}-${i}` },
      }),
    );
    if (tokens.length < 5000) tokens.push({ id: out.IdentityId!, token: out.Token! });
  }, 1);
  const minted: { accessKeyId: string; secretAccessKey: string; sessionToken: string }[] = [];
  const credentials = await phase(async (i) => {
    const t = tokens[i % tokens.length]!;
    const out = await client.send(
      new GetCredentialsForIdentityCommand({ IdentityId: t.id, Logins: { 'cognito-identity.amazonaws.com': t.token } }),
    );
    const c = out.Credentials!;
    if (minted.length < STS_CLIENTS)
      minted.push({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretKey!, sessionToken: c.SessionToken! });
  }, 1);
  client.destroy();
  // One STS client per set of minted credentials, as each browser or phone signs with its own.
  const sts = minted.map(
    (credentials) =>
      new STSClient({ region: emulator.region, endpoint: emulator.endpoint, credentials, maxAttempts: 1 }),
  );
  const callerIdentity = await phase(async (i) => {
    const out = await sts[i % sts.length]!.send(new GetCallerIdentityCommand({}));
    if (out.Arn === undefined) throw new Error('GetCallerIdentity answered without an Arn');
  }, 1);
  for (const c of sts) c.destroy();
  return { openId, credentials, callerIdentity };
}

serveParent(
  {
    run,
    stop: () => {
      setTimeout(() => process.exit(0), 20);
    },
  },
  { pid: process.pid },
);
