import type { RegionsSnapshot } from './service/regions.js';
import { isRegion } from './tokens.js';

/**
 * The state file's content: every region (see {@link RegionsSnapshot}), the default region, and the
 * key of the minted temporary credentials (one for every region and STS). Files written before
 * regions hold one region as `{region, signer, service, credentials?}`; they are read as that region
 * alone. Files written before STS have no `credentials`: a fresh key is made.
 */
export interface PersistedState extends RegionsSnapshot {
  region: string;
  credentials?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The saved state, in today's form, from a state file of today's or the single-region form. */
export function persistedState(raw: unknown, file: string): PersistedState {
  const damaged = (what: string): never => {
    throw new Error(`emulator state file ${file} is damaged (${what}); it was left untouched: fix or delete it`);
  };
  if (!isRecord(raw) || !isRegion(raw.region)) return damaged('missing region');
  const credentials = raw.credentials === undefined ? {} : { credentials: raw.credentials };
  if (raw.regions !== undefined) {
    if (!isRecord(raw.regions) || !isRegion(raw.providerRegion)) return damaged('regions are not in the expected form');
    return {
      region: raw.region,
      providerRegion: raw.providerRegion,
      regions: raw.regions as PersistedState['regions'],
      ...credentials,
    };
  }
  if (!isRecord(raw.service) || raw.signer === undefined) return damaged('missing region, signer or service');
  return {
    region: raw.region,
    providerRegion: raw.region,
    regions: {
      [raw.region]: {
        signer: raw.signer,
        service: raw.service as unknown as RegionsSnapshot['regions'][string]['service'],
      },
    },
    ...credentials,
  };
}
