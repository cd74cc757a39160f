import { createHash } from 'node:crypto';
import { BrokerError } from '../errors.js';
import { badRequest } from './input.js';

// The classic flow's arguments (`Broker.getScopedCredentials`): checked here, before any call, to
// STS's own limits (sts-2011-06-15 model), and turned into the scope an entry is cached for.

/** What `getScopedCredentials` accepts (see `ScopedCredentialsOptions` in types.ts). */
export interface ScopeInput {
  readonly roleArn?: string;
  readonly policy?: string;
  readonly policyArns?: readonly string[];
  readonly durationSeconds?: number;
  readonly sessionName?: string;
}

/** A checked scope, with every default but the role filled in (the pool's role is read lazily). */
export interface Scope {
  /** `undefined`: the classic flow's default role (`classicFlow.roleArn`, else the pool's). */
  readonly roleArn: string | undefined;
  readonly policy: string | undefined;
  /** Sorted: the order of managed policies does not change their intersection. */
  readonly policyArns: readonly string[];
  readonly durationSeconds: number;
  /** `undefined`: derived from the identity id when the call is made. */
  readonly sessionName: string | undefined;
}

export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;
const MAX_POLICY_CHARS = 2048;
const MAX_POLICY_ARNS = 10;

// Bounded inputs (length checked first): the character classes are linear.
const ROLE_ARN = /^arn:aws[a-z-]{0,20}:iam::\d{12}:role\/[\x21-\x7e]{1,2000}$/;
const POLICY_ARN = /^arn:aws[a-z-]{0,20}:iam::(?:\d{12}|aws):policy\/[\x21-\x7e]{1,2000}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** STS's pattern of a session policy: tab, LF, CR and U+0020–U+00FF. */
const POLICY_CHARS = /^[\t\n\r\u0020-\u00ff]+$/;
const KNOWN = new Set(['roleArn', 'policy', 'policyArns', 'durationSeconds', 'sessionName']);

function badPolicy(message: string): BrokerError {
  return new BrokerError('ERR_BAD_POLICY', message);
}

/** True when `arn` is an IAM role ARN STS accepts (20–2048 characters). */
export function isRoleArn(arn: unknown): arn is string {
  return typeof arn === 'string' && arn.length >= 20 && arn.length <= 2048 && ROLE_ARN.test(arn);
}

/**
 * Checks a duration of the classic flow: an integer in [900, 43200] (STS's bounds; the role's own
 * maximum session duration may be lower, which STS then refuses) and more than twice the skew
 * grace, so that an entry is served for at least half its life.
 * @returns the reason it is not acceptable, or `undefined`.
 */
export function durationProblem(value: unknown, skewGraceSeconds: number): string | undefined {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_DURATION_SECONDS ||
    value > MAX_DURATION_SECONDS
  ) {
    return `an integer number of seconds in [${MIN_DURATION_SECONDS}, ${MAX_DURATION_SECONDS}]`;
  }
  if (value <= 2 * skewGraceSeconds) return `more than twice skewGraceSeconds (${2 * skewGraceSeconds})`;
  return undefined;
}

/**
 * Checks `getScopedCredentials`'s options and fills in the duration.
 * @throws BrokerError `ERR_BAD_POLICY` for the policy or its ARNs (not JSON, not an object, over
 *   2,048 characters, characters STS refuses, more than 10 ARNs, a malformed ARN), `ERR_BAD_REQUEST`
 *   for the rest (an unknown option, a role ARN, a duration, a session name).
 */
export function checkScope(input: unknown, defaultDuration: number, skewGraceSeconds: number): Scope {
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw badRequest('The scoped credentials options must be an object');
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw badRequest('The scoped credentials options have an unknown option');
  }
  // Each field read once: a getter could pass a check and then answer something else.
  const { roleArn, policy, policyArns: givenArns, durationSeconds: givenDuration, sessionName } = o;
  if (roleArn !== undefined && !isRoleArn(roleArn)) {
    throw badRequest('The role ARN must be an IAM role ARN (arn:aws:iam::123456789012:role/…)');
  }
  if (policy !== undefined) checkPolicy(policy);
  const policyArns = givenArns === undefined ? [] : checkPolicyArns(givenArns);
  let durationSeconds = defaultDuration;
  if (givenDuration !== undefined) {
    const problem = durationProblem(givenDuration, skewGraceSeconds);
    if (problem !== undefined) throw badRequest(`The duration must be ${problem}`);
    durationSeconds = givenDuration as number;
  }
  if (sessionName !== undefined && (typeof sessionName !== 'string' || !SESSION_NAME.test(sessionName))) {
    throw badRequest('The session name must be 2–64 characters of letters, digits and +=,.@_-');
  }
  return {
    roleArn,
    policy,
    policyArns,
    durationSeconds,
    sessionName,
  };
}

/** Checks a session policy. @throws BrokerError `ERR_BAD_POLICY` */
function checkPolicy(policy: unknown): asserts policy is string {
  if (typeof policy !== 'string' || policy.length === 0) throw badPolicy('The session policy must be a JSON string');
  if (policy.length > MAX_POLICY_CHARS) {
    throw badPolicy(`The session policy is longer than ${MAX_POLICY_CHARS} characters`);
  }
  if (!POLICY_CHARS.test(policy)) throw badPolicy('The session policy has characters STS does not accept');
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw badPolicy('The session policy is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw badPolicy('The session policy must be a JSON object (an IAM policy document)');
  }
}

/** Checks policy ARNs, read once (a copy), and sorts them. @throws BrokerError `ERR_BAD_POLICY` */
function checkPolicyArns(given: unknown): string[] {
  if (!Array.isArray(given)) throw badPolicy('The policy ARNs must be an array of IAM policy ARNs');
  if (given.length > MAX_POLICY_ARNS) throw badPolicy(`At most ${MAX_POLICY_ARNS} policy ARNs are allowed`);
  const arns: unknown[] = Array.from(given as unknown[]);
  if (arns.length > MAX_POLICY_ARNS) throw badPolicy(`At most ${MAX_POLICY_ARNS} policy ARNs are allowed`);
  for (const arn of arns) {
    if (typeof arn !== 'string' || arn.length < 20 || arn.length > 2048 || !POLICY_ARN.test(arn)) {
      throw badPolicy('A policy ARN is not an IAM policy ARN (arn:aws:iam::123456789012:policy/…)');
    }
  }
  return [...new Set(arns as string[])].sort();
}

/**
 * A hash of everything that shapes the credentials of a scope but the user: role, session policy,
 * policy ARNs, duration and session name. Cache keys and logs carry it, never the policy text.
 */
export function scopeHash(scope: Scope, roleArn: string): string {
  const shape = [roleArn, scope.policy ?? null, scope.policyArns, scope.durationSeconds, scope.sessionName ?? null];
  return createHash('sha256').update(JSON.stringify(shape)).digest('base64url').slice(0, 32);
}

/**
 * The session name of an identity's credentials when the caller gives none: `cib-` and the
 * identity's GUID (the part of `REGION:GUID` STS accepts), so that CloudTrail names the identity and
 * never the app's user id.
 */
export function defaultSessionName(identityId: string): string {
  const guid = identityId.slice(identityId.indexOf(':') + 1).replace(/[^\w+=,.@-]/g, '');
  return `cib-${guid}`.slice(0, 64);
}
