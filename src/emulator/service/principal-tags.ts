import type {
  GetPrincipalTagAttributeMapInput,
  GetPrincipalTagAttributeMapResponse,
  SetPrincipalTagAttributeMapInput,
  SetPrincipalTagAttributeMapResponse,
} from '../model/shapes.js';
import { str, strMap, type ServiceState } from './state.js';

/** GetPrincipalTagAttributeMap (UseDefaults false and no tags until one is set). */
export function getPrincipalTagAttributeMap(
  state: ServiceState,
  input: GetPrincipalTagAttributeMapInput,
): GetPrincipalTagAttributeMapResponse {
  const pool = state.pool(input.IdentityPoolId);
  const name = str(input.IdentityProviderName) ?? '';
  const m = pool.principalTagMaps[name];
  return {
    IdentityPoolId: pool.id,
    IdentityProviderName: name,
    UseDefaults: m?.useDefaults ?? false,
    PrincipalTags: m?.principalTags ?? {},
  };
}

/** SetPrincipalTagAttributeMap. */
export function setPrincipalTagAttributeMap(
  state: ServiceState,
  input: SetPrincipalTagAttributeMapInput,
): SetPrincipalTagAttributeMapResponse {
  const pool = state.pool(input.IdentityPoolId);
  const name = str(input.IdentityProviderName) ?? '';
  const entry = { useDefaults: input.UseDefaults === true, principalTags: { ...strMap(input.PrincipalTags) } };
  pool.principalTagMaps[name] = entry;
  state.changed({ pools: [pool.id] });
  return {
    IdentityPoolId: pool.id,
    IdentityProviderName: name,
    UseDefaults: entry.useDefaults,
    PrincipalTags: entry.principalTags,
  };
}
