import { CognitoIdentityService } from '../../../../src/emulator/service/service.js';
import type { ServiceSnapshot } from '../../../../src/emulator/service/state.js';
import { TokenSigner } from '../../../../src/emulator/tokens.js';

let signer: Promise<TokenSigner> | undefined;

/** A service on a fixed clock (one RSA key for the whole file), with a pool named `app`. */
export async function serviceWithPool(
  options: { nowMs?: number; snapshot?: ServiceSnapshot; onChange?: () => void } = {},
): Promise<{ svc: CognitoIdentityService; poolId: string; clock: { ms: number } }> {
  signer ??= TokenSigner.create('us-east-1');
  const clock = { ms: options.nowMs ?? 1_700_000_000_000 };
  const svc = new CognitoIdentityService(
    {
      region: 'us-east-1',
      signer: await signer,
      now: () => clock.ms,
      ...(options.onChange === undefined ? {} : { onChange: options.onChange }),
    },
    options.snapshot,
  );
  const pool = svc.handlers.CreateIdentityPool({
    IdentityPoolName: 'app',
    AllowUnauthenticatedIdentities: true,
    DeveloperProviderName: 'login.app',
  });
  svc.handlers.SetIdentityPoolRoles({
    IdentityPoolId: pool.IdentityPoolId,
    Roles: { authenticated: 'arn:aws:iam::123456789012:role/auth' },
  });
  return { svc, poolId: pool.IdentityPoolId, clock };
}

/** Registers a developer user and returns its identity id. */
export function register(svc: CognitoIdentityService, poolId: string, user: string): string {
  const out = svc.handlers.GetOpenIdTokenForDeveloperIdentity({
    IdentityPoolId: poolId,
    Logins: { 'login.app': user },
  });
  return out.IdentityId ?? '';
}
