// Shared fixture of the emulator integration tests: a started emulator, a real SDK client, a manual clock.
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

export const DEV_PROVIDER = 'login.example.app';
export const AUTH_ROLE = 'arn:aws:iam::123456789012:role/Auth';
export const UNAUTH_ROLE = 'arn:aws:iam::123456789012:role/Unauth';
export const FB_APP = 'fb-app-1';

export interface Fixture {
  emu: RunningEmulator;
  client: CognitoIdentity;
  clock: ManualClock;
  stop(): Promise<void>;
}

/** Starts an emulator on 127.0.0.1:0 and a real SDK client for it (no retries, so errors surface at once). */
export async function setup(options: EmulatorOptions = {}): Promise<Fixture> {
  // Starts at the wall clock: the SDK signs requests with the real time.
  const clock = new ManualClock(Date.now());
  const emu = await startEmulator({ clock, ...options });
  const client = new CognitoIdentity({
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  return {
    emu,
    client,
    clock,
    async stop() {
      client.destroy();
      await emu.stop();
    },
  };
}

/** Creates a developer pool with roles (and Facebook as a supported provider). */
export async function devPool(
  client: CognitoIdentity,
  extra: { allowUnauth?: boolean; name?: string } = {},
): Promise<string> {
  const pool = await client.createIdentityPool({
    IdentityPoolName: extra.name ?? 'dev pool',
    AllowUnauthenticatedIdentities: extra.allowUnauth ?? false,
    DeveloperProviderName: DEV_PROVIDER,
    SupportedLoginProviders: { 'graph.facebook.com': FB_APP },
  });
  const id = pool.IdentityPoolId!;
  await client.setIdentityPoolRoles({
    IdentityPoolId: id,
    Roles: { authenticated: AUTH_ROLE, unauthenticated: UNAUTH_ROLE },
  });
  return id;
}

/** The error an SDK promise rejects with (fails when it resolves). */
export async function rejection(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

/** The claims of a JWT, unverified. */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
