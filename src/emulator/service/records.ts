import type { CognitoIdentityProvider, RoleMapping } from '../model/shapes.js';

// The records of a region's state, shared by the state and the modules it uses (a leaf: it imports
// no other module of the service).

/** A role mapping as stored: the API's shape. */
export type { RoleMapping };

/** A pool as stored (and persisted). */
export interface PoolRecord {
  id: string;
  seq: number;
  name: string;
  allowUnauth: boolean;
  allowClassic?: boolean;
  supportedLoginProviders: Record<string, string>;
  developerProviderName?: string;
  openIdConnectProviderARNs?: string[];
  cognitoIdentityProviders?: CognitoIdentityProvider[];
  samlProviderARNs?: string[];
  tags: Record<string, string>;
  roles: Record<string, string>;
  roleMappings: Record<string, RoleMapping>;
  principalTagMaps: Record<string, { useDefaults: boolean; principalTags: Record<string, string> }>;
  createdMs: number;
}

/** An identity as stored (and persisted). */
export interface IdentityRecord {
  id: string;
  poolId: string;
  seq: number;
  createdMs: number;
  modifiedMs: number;
  /** Merged away or left without logins: every further use is refused. */
  disabled: boolean;
  /** Developer user identifiers under the pool's developer provider. */
  devUsers: string[];
  /** Public provider name → the provider's user id (token subject). */
  logins: Record<string, string>;
}

/** A pool in memory: its record plus the indexes over its identities. */
export interface Pool extends PoolRecord {
  identities: Map<string, Identity>;
  /** Developer user id → identity id. */
  devIndex: Map<string, string>;
  /** `provider\0subject` → identity id. */
  loginIndex: Map<string, string>;
}

export type Identity = IdentityRecord;

/** Epoch seconds of epoch milliseconds (rounded down). */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
