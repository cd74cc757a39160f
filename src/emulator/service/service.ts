import type { OperationName, OperationTypes } from '../model/shapes.js';
import { getCredentialsForIdentity } from './credentials.js';
import { getOpenIdTokenForDeveloperIdentity, lookupDeveloperIdentity, unlinkDeveloperIdentity } from './developer.js';
import {
  deleteIdentities,
  describeIdentity,
  getId,
  getOpenIdToken,
  listIdentities,
  unlinkIdentity,
} from './identities.js';
import { mergeDeveloperIdentities } from './merge.js';
import {
  createIdentityPool,
  deleteIdentityPool,
  describeIdentityPool,
  listIdentityPools,
  updateIdentityPool,
} from './pools.js';
import { getPrincipalTagAttributeMap, setPrincipalTagAttributeMap } from './principal-tags.js';
import { getIdentityPoolRoles, setIdentityPoolRoles } from './roles.js';
import { ServiceState, type PoolRecord, type ServiceOptions, type ServiceSnapshot } from './state.js';
import { listTagsForResource, tagResource, untagResource } from './tags.js';

/** The handler of one operation: the typed input (already validated against the model) to the typed output. */
export type OperationHandler<K extends OperationName> = (
  input: OperationTypes[K]['input'],
) => OperationTypes[K]['output'];

/** One handler per operation of the model; the compiler checks that none is missing. */
export type OperationHandlers = { readonly [K in OperationName]: OperationHandler<K> };

/**
 * The in-memory Cognito Identity service of one account and region: its {@link ServiceState} and the
 * 23 operations of the API, each in the module named for its concern (pools, identities, developer,
 * merge, credentials, roles, principal-tags, tags). A handler throws a `ServiceError` for the
 * service's modelled errors.
 */
export class CognitoIdentityService {
  readonly state: ServiceState;
  readonly handlers: OperationHandlers;

  constructor(options: ServiceOptions, snapshot?: ServiceSnapshot) {
    const s = new ServiceState(options, snapshot);
    this.state = s;
    this.handlers = {
      CreateIdentityPool: (i) => createIdentityPool(s, i),
      DeleteIdentities: (i) => deleteIdentities(s, i),
      DeleteIdentityPool: (i) => deleteIdentityPool(s, i),
      DescribeIdentity: (i) => describeIdentity(s, i),
      DescribeIdentityPool: (i) => describeIdentityPool(s, i),
      GetCredentialsForIdentity: (i) => getCredentialsForIdentity(s, i),
      GetId: (i) => getId(s, i),
      GetIdentityPoolRoles: (i) => getIdentityPoolRoles(s, i),
      GetOpenIdToken: (i) => getOpenIdToken(s, i),
      GetOpenIdTokenForDeveloperIdentity: (i) => getOpenIdTokenForDeveloperIdentity(s, i),
      GetPrincipalTagAttributeMap: (i) => getPrincipalTagAttributeMap(s, i),
      ListIdentities: (i) => listIdentities(s, i),
      ListIdentityPools: (i) => listIdentityPools(s, i),
      ListTagsForResource: (i) => listTagsForResource(s, i),
      LookupDeveloperIdentity: (i) => lookupDeveloperIdentity(s, i),
      MergeDeveloperIdentities: (i) => mergeDeveloperIdentities(s, i),
      SetIdentityPoolRoles: (i) => setIdentityPoolRoles(s, i),
      SetPrincipalTagAttributeMap: (i) => setPrincipalTagAttributeMap(s, i),
      TagResource: (i) => tagResource(s, i),
      UnlinkDeveloperIdentity: (i) => unlinkDeveloperIdentity(s, i),
      UnlinkIdentity: (i) => unlinkIdentity(s, i),
      UntagResource: (i) => untagResource(s, i),
      UpdateIdentityPool: (i) => updateIdentityPool(s, i),
    };
  }

  get region(): string {
    return this.state.region;
  }

  get accountId(): string {
    return this.state.accountId;
  }

  /** Runs an operation by name on a typed input. */
  call<K extends OperationName>(name: K, input: OperationTypes[K]['input']): OperationTypes[K]['output'] {
    const handler: OperationHandler<K> = this.handlers[name];
    return handler(input);
  }

  /** The persisted state (plain JSON). */
  snapshot(): ServiceSnapshot {
    return this.state.snapshot();
  }

  /** All pools, in creation order. */
  listPools(): readonly PoolRecord[] {
    return [...this.state.pools.values()];
  }

  /** The pool's ARN, as tags address it. */
  poolArn(poolId: string): string {
    return this.state.poolArn(poolId);
  }
}
