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
  const providers = poolProviders(pool);
  for (const [provider, m] of Object.entries(mappings)) {
    if (!providers.has(provider)) {
      throw new ServiceError(
        'InvalidParameterException',
        `The role mapping key '${provider}' is not a login provider of this identity pool.`,
      );
    }
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

/**
 * The login providers a role mapping may be keyed by: the pool's supported login providers, its
 * user pools (`cognito-idp.REGION.amazonaws.com/POOL:CLIENT`), its OpenID Connect and SAML
 * providers (their ARNs), and its developer provider.
 */
function poolProviders(pool: Pool): Set<string> {
  const names = new Set(Object.keys(pool.supportedLoginProviders));
  for (const c of pool.cognitoIdentityProviders ?? []) {
    if (typeof c.ProviderName === 'string' && typeof c.ClientId === 'string')
      names.add(`${c.ProviderName}:${c.ClientId}`);
  }
  for (const arn of [...(pool.openIdConnectProviderARNs ?? []), ...(pool.samlProviderARNs ?? [])]) names.add(arn);
  if (pool.developerProviderName !== undefined) names.add(pool.developerProviderName);
  return names;
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
  // What CustomRoleArn may name: the pool's authenticated role, and the roles the identity's own
  // logins earn (the role claims of a Token mapping; the rules of a Rules mapping its claims match).
  // A rule the identity does not match, or a mapping of a provider it has no login of, earns nothing.
  const allowed = new Set<string>();
  const authRole = pool.roles.authenticated;
  if (authRole !== undefined) allowed.add(authRole);
  const candidates: { provider: string; claims: Record<string, unknown> }[] = [];
  if (parsed.cognito !== undefined) {
    const c = parsed.cognito.claims;
    const amr = Array.isArray(c.amr) ? (c.amr as unknown[]) : [];
    const flat: Record<string, unknown> = { ...c };
    const tagClaim = c[TAGS_CLAIM] as { principal_tags?: Record<string, string[]> } | undefined;
    // Principal tags add claims a rule may match; they never replace a claim of the token, nor name
    // a role (`cognito:preferred_role`, `cognito:roles`: a Token mapping reads those from the token).
    for (const [k, v] of Object.entries(tagClaim?.principal_tags ?? {})) {
      if (!Object.hasOwn(c, k) && !k.startsWith('cognito:')) flat[k] = v[0];
    }
    for (const a of amr.slice(1))
      if (typeof a === 'string' && !a.includes(':')) candidates.push({ provider: a, claims: flat });
  }
  for (const p of parsed.publics) {
    const v = state.signer.verify(p.token);
    candidates.push({ provider: p.provider, claims: v.ok ? v.claims : { sub: p.subject } });
  }
  // Every mapped provider of the identity adds the roles it earns to those CustomRoleArn may name.
  // The order of the Logins map (or of the token's amr) never matters: any mapped provider whose
  // mapping resolves no role and says Deny refuses the call; otherwise the first of them in the
  // pool's RoleMappings order decides the role (its role, or the authenticated role when ambiguous).
  const order = Object.keys(pool.roleMappings);
  const mapped = candidates
    .flatMap(({ provider, claims }) => {
      const mapping = pool.roleMappings[provider];
      return mapping === undefined ? [] : [{ provider, mapping, earned: earnedRoles(mapping, claims) }];
    })
    .sort((a, b) => order.indexOf(a.provider) - order.indexOf(b.provider));
  let role: string | undefined;
  let decided = false;
  for (const { provider, mapping, earned } of mapped) {
    for (const r of earned.roles) allowed.add(r);
    // Several roles in the token and none preferred: CustomRoleArn picks one of them.
    let own = earned.first;
    if (own === undefined && custom !== undefined && earned.roles.includes(custom)) own = custom;
    if (own === undefined && mapping.AmbiguousRoleResolution === 'Deny') {
      throw new ServiceError(
        'NotAuthorizedException',
        `The ambiguous role mapping rules for: ${provider} denied this request.`,
      );
    }
    if (!decided) role = own ?? authRole;
    decided = true;
  }
  if (!decided) role = authRole;
  return { role, allowed };
}

/**
 * The roles one mapping gives an identity with these claims: for Token, the token's
 * `cognito:roles` and `cognito:preferred_role` (the preferred one, or the only one, first); for
 * Rules, the role of every rule the claims match (the first match first).
 */
function earnedRoles(m: RoleMapping, claims: Record<string, unknown>): { first: string | undefined; roles: string[] } {
  if (m.Type === 'Token') {
    const roles = Array.isArray(claims['cognito:roles'])
      ? (claims['cognito:roles'] as unknown[]).filter((r): r is string => typeof r === 'string')
      : [];
    const preferred = str(claims['cognito:preferred_role']);
    const first = preferred ?? (roles.length === 1 ? roles[0] : undefined);
    return { first, roles: preferred === undefined ? roles : [preferred, ...roles] };
  }
  const roles = (m.RulesConfiguration?.Rules ?? [])
    .filter((r) => ruleMatches(r, claims[r.Claim]))
    .map((r) => r.RoleARN);
  return { first: roles[0], roles };
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
