import type {
  EmptyOutput,
  GetIdentityPoolRolesInput,
  GetIdentityPoolRolesResponse,
  MappingRule,
  RoleMapping,
  SetIdentityPoolRolesInput,
} from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import type { ParsedLogins } from './logins.js';
import { TAGS_CLAIM } from './openid-token.js';
import { str, strMap, type Pool, type ServiceState } from './state.js';

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** GetIdentityPoolRoles. */
export function getIdentityPoolRoles(
  state: ServiceState,
  input: GetIdentityPoolRolesInput,
): GetIdentityPoolRolesResponse {
  const pool = state.pool(input.IdentityPoolId);
  const out: GetIdentityPoolRolesResponse = { IdentityPoolId: pool.id, Roles: pool.roles };
  if (Object.keys(pool.roleMappings).length > 0) out.RoleMappings = pool.roleMappings;
  return out;
}

/** SetIdentityPoolRoles: replaces roles and role mappings. */
export function setIdentityPoolRoles(state: ServiceState, input: SetIdentityPoolRolesInput): EmptyOutput {
  const pool = state.pool(input.IdentityPoolId);
  const roles = { ...strMap(input.Roles) };
  for (const arn of Object.values(roles)) {
    if (!ROLE_ARN.test(arn)) throw new ServiceError('InvalidParameterException', `Invalid role ARN: ${arn}`);
  }
  // `?? {}`: a JSON null is absent.
  const mappings: Record<string, RoleMapping> = (input.RoleMappings as Record<string, RoleMapping> | null) ?? {};
  for (const [provider, m] of Object.entries(mappings)) {
    if (m.AmbiguousRoleResolution === undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        `AmbiguousRoleResolution must be specified for the role mapping of '${provider}'.`,
      );
    }
    if (m.Type === 'Rules' && m.RulesConfiguration === undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        `RulesConfiguration must be specified for the Rules role mapping of '${provider}'.`,
      );
    }
    if (m.Type === 'Token' && m.RulesConfiguration !== undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        `RulesConfiguration is not allowed for the Token role mapping of '${provider}'.`,
      );
    }
    for (const r of m.RulesConfiguration?.Rules ?? []) {
      if (!ROLE_ARN.test(r.RoleARN))
        throw new ServiceError('InvalidParameterException', `Invalid role ARN: ${r.RoleARN}`);
    }
  }
  pool.roles = roles;
  pool.roleMappings = structuredClone(mappings);
  state.changed({ pools: [pool.id] });
  return {};
}

/** The role an authenticated identity gets, and every role it may ask for with CustomRoleArn. */
export interface ResolvedRole {
  role: string | undefined;
  allowed: Set<string>;
}

/**
 * The role of an authenticated identity: a role mapping for one of the login's providers (Token:
 * `cognito:preferred_role`/`cognito:roles` claims; Rules: the first matching rule, on the token's
 * claims and principal tags), with AmbiguousRoleResolution, else the pool's authenticated role.
 */
export function resolveRole(
  state: ServiceState,
  pool: Pool,
  parsed: ParsedLogins,
  custom: string | undefined,
): ResolvedRole {
  const allowed = new Set<string>();
  const authRole = pool.roles.authenticated;
  if (authRole !== undefined) allowed.add(authRole);
  for (const m of Object.values(pool.roleMappings))
    for (const r of m.RulesConfiguration?.Rules ?? []) allowed.add(r.RoleARN);
  const candidates: { provider: string; claims: Record<string, unknown> }[] = [];
  if (parsed.cognito !== undefined) {
    const c = parsed.cognito.claims;
    const amr = Array.isArray(c.amr) ? (c.amr as unknown[]) : [];
    const flat: Record<string, unknown> = { ...c };
    const tagClaim = c[TAGS_CLAIM] as { principal_tags?: Record<string, string[]> } | undefined;
    for (const [k, v] of Object.entries(tagClaim?.principal_tags ?? {})) flat[k] = v[0];
    for (const a of amr.slice(1))
      if (typeof a === 'string' && !a.includes(':')) candidates.push({ provider: a, claims: flat });
  }
  for (const p of parsed.publics) {
    const v = state.signer.verify(p.token);
    candidates.push({ provider: p.provider, claims: v.ok ? v.claims : { sub: p.subject } });
  }
  for (const { provider, claims } of candidates) {
    const m = pool.roleMappings[provider];
    if (m === undefined) continue;
    let role: string | undefined;
    if (m.Type === 'Token') {
      const roles = Array.isArray(claims['cognito:roles'])
        ? (claims['cognito:roles'] as unknown[]).filter((r) => typeof r === 'string')
        : [];
      for (const r of roles) allowed.add(r);
      const preferred = str(claims['cognito:preferred_role']);
      if (preferred !== undefined) allowed.add(preferred);
      if (custom !== undefined && allowed.has(custom)) role = custom;
      else role = preferred ?? (roles.length === 1 ? roles[0] : undefined);
    } else {
      for (const r of m.RulesConfiguration?.Rules ?? []) {
        if (ruleMatches(r, claims[r.Claim])) {
          role = r.RoleARN;
          break;
        }
      }
    }
    if (role === undefined) {
      if (m.AmbiguousRoleResolution === 'Deny') {
        throw new ServiceError(
          'NotAuthorizedException',
          'No role mapping matched and the pool denies ambiguous role resolution.',
        );
      }
      role = authRole;
    }
    return { role, allowed };
  }
  return { role: authRole, allowed };
}

function ruleMatches(rule: Pick<MappingRule, 'MatchType' | 'Value'>, claim: unknown): boolean {
  const values = Array.isArray(claim)
    ? claim.map(String)
    : claim === undefined
      ? []
      : [typeof claim === 'string' ? claim : JSON.stringify(claim)];
  switch (rule.MatchType as string) {
    case 'Equals':
      return values.includes(rule.Value);
    case 'Contains':
      return values.some((v) => v.includes(rule.Value));
    case 'StartsWith':
      return values.some((v) => v.startsWith(rule.Value));
    case 'NotEqual':
      return values.length > 0 && !values.includes(rule.Value);
    default:
      return false;
  }
}
