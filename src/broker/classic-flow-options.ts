import type { STSClient } from '@aws-sdk/client-sts';
import { durationProblem, isRoleArn } from './scope.js';
import { DEFAULT_MAX_SCOPES_PER_USER } from './scope-cap.js';

/** The part of an `STSClient` the broker uses: `send(command, { abortSignal })`. */
export type StsSendClient = Pick<STSClient, 'send'>;

/**
 * The classic (basic) flow's defaults (`BrokerOptions.classicFlow`), for
 * `Broker.getScopedCredentials`: the broker's OpenID token, then STS `AssumeRoleWithWebIdentity`
 * with a session policy, a duration and a role of the caller's choosing. The pool must allow the
 * classic flow (`AllowClassicFlow`) and have no role mappings; `preflight()` says whether it does.
 */
export interface ClassicFlowOptions {
  /**
   * The role assumed when a call names none. Default: the pool's authenticated role, read once
   * (GetIdentityPoolRoles; the broker's AWS credentials then need
   * `cognito-identity:GetIdentityPoolRoles`).
   */
  readonly roleArn?: string;
  /**
   * Lifetime of the credentials when a call names none, seconds: an integer in [900, 43200], at
   * most the role's maximum session duration (STS refuses more), and more than twice
   * `skewGraceSeconds`. Default `3600`.
   */
  readonly durationSeconds?: number;
  /**
   * Live scopes per user: past it, the user's least recently used scoped entry is dropped, so that
   * one user asking for many distinct scopes cannot push other users' entries out of the cache.
   * An integer in [1, 1000]. Default `16`.
   */
  readonly maxScopesPerUser?: number;
}

/** {@link ClassicFlowOptions} after validation. */
export interface ResolvedClassicFlowOptions {
  readonly roleArn: string | undefined;
  readonly durationSeconds: number;
  readonly maxScopesPerUser: number;
}

function fail(message: string): never {
  throw new TypeError(`createBroker: ${message}`);
}

/**
 * Validates `classicFlow` and `stsClient`.
 * @throws TypeError naming the bad option.
 */
export function resolveClassicFlowOptions(
  value: unknown,
  stsClient: unknown,
  skewGraceSeconds: number,
): ResolvedClassicFlowOptions {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    fail('classicFlow must be an object like { roleArn, durationSeconds, maxScopesPerUser }');
  }
  const o = (value ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'roleArn' && key !== 'durationSeconds' && key !== 'maxScopesPerUser')
      fail(`classicFlow has an unknown option ${JSON.stringify(key)}`);
  }
  if (o.roleArn !== undefined && !isRoleArn(o.roleArn)) {
    fail('classicFlow.roleArn must be an IAM role ARN (arn:aws:iam::123456789012:role/…)');
  }
  const durationSeconds = o.durationSeconds ?? 3600;
  const problem = durationProblem(durationSeconds, skewGraceSeconds);
  if (problem !== undefined) fail(`classicFlow.durationSeconds must be ${problem}`);
  const maxScopesPerUser = o.maxScopesPerUser ?? DEFAULT_MAX_SCOPES_PER_USER;
  if (
    typeof maxScopesPerUser !== 'number' ||
    !Number.isInteger(maxScopesPerUser) ||
    maxScopesPerUser < 1 ||
    maxScopesPerUser > 1000
  ) {
    fail('classicFlow.maxScopesPerUser must be an integer in [1, 1000]');
  }
  if (
    stsClient !== undefined &&
    (typeof stsClient !== 'object' ||
      stsClient === null ||
      typeof (stsClient as { send?: unknown }).send !== 'function')
  ) {
    fail('stsClient must have a send(command, options) method (an STSClient)');
  }
  return Object.freeze({ roleArn: o.roleArn, durationSeconds: durationSeconds as number, maxScopesPerUser });
}
