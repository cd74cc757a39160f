import type { RegionalServices } from './service/regions.js';
import type { PoolRecord } from './service/state.js';
import { arnPartition } from './tokens.js';
import type { PoolInfo, SeedPool } from './types.js';

/** The role name Cognito's console would give a pool's role. */
function roleName(poolName: string, kind: 'Auth' | 'Unauth'): string {
  const safe = poolName.replace(/[^\w+=,.@-]/g, '_').slice(0, 40);
  return `Cognito_${safe}${kind}_Role`;
}

/** What {@link RunningEmulator.pools} tells of a pool. */
export function poolInfo(p: PoolRecord): PoolInfo {
  return {
    identityPoolId: p.id,
    identityPoolName: p.name,
    roles: { ...p.roles },
    ...(p.developerProviderName === undefined ? {} : { developerProviderName: p.developerProviderName }),
  };
}

/**
 * Creates the seeded pools that do not exist yet (a pool of the same name in the seed's region is
 * kept as it is, e.g. one read back from the state file), with roles named as the console names
 * them unless the seed gives roles, through the service's own handlers. Returns every seeded pool.
 */
export async function seedPools(
  regions: RegionalServices,
  seeds: readonly SeedPool[],
  defaultRegion: string,
): Promise<PoolInfo[]> {
  const seeded: PoolInfo[] = [];
  for (const seed of seeds) {
    const svc = await regions.ensure(seed.region ?? defaultRegion);
    let pool = svc.listPools().find((p) => p.name === seed.name);
    if (pool === undefined) {
      const out = svc.handlers.CreateIdentityPool({
        IdentityPoolName: seed.name,
        AllowUnauthenticatedIdentities: seed.allowUnauthenticatedIdentities ?? false,
        ...(seed.allowClassicFlow === undefined ? {} : { AllowClassicFlow: seed.allowClassicFlow }),
        ...(seed.developerProviderName === undefined ? {} : { DeveloperProviderName: seed.developerProviderName }),
        ...(seed.supportedLoginProviders === undefined
          ? {}
          : { SupportedLoginProviders: { ...seed.supportedLoginProviders } }),
      });
      const iam = `arn:${arnPartition(svc.region)}:iam::${svc.accountId}:role/`;
      const roles = seed.roles ?? {
        authenticated: `${iam}${roleName(seed.name, 'Auth')}`,
        unauthenticated: `${iam}${roleName(seed.name, 'Unauth')}`,
      };
      svc.handlers.SetIdentityPoolRoles({ IdentityPoolId: out.IdentityPoolId, Roles: { ...roles } });
      pool = svc.listPools().find((p) => p.id === out.IdentityPoolId);
    }
    if (pool !== undefined) seeded.push(poolInfo(pool));
  }
  return seeded;
}
