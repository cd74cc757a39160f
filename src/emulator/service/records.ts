// The emulator's records (as stored, and in memory): a leaf module, so that the token signer and
// the service state can both use them without importing each other.
import type { CognitoIdentityProvider, RoleMapping } from '../model/shapes.js';

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

/** Whole seconds of an epoch time in ms. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
