import { createHash } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import type { CredentialIssuer, CredentialRecord, IssuedCredentials } from '../session-token.js';
import type { VerifyResult } from '../tokens.js';
import { checkSessionPolicy, packedPolicySize } from './session-policy.js';

/** The input of AssumeRoleWithWebIdentity, as validated against the STS model. */
export interface AssumeRoleWithWebIdentityInput {
  RoleArn: string;
  RoleSessionName: string;
  WebIdentityToken: string;
  ProviderId?: string;
  PolicyArns?: { arn?: string }[];
  Policy?: string;
  DurationSeconds?: number;
}

/** The result of AssumeRoleWithWebIdentity (timestamps in epoch seconds). */
export interface AssumeRoleWithWebIdentityResult {
  Credentials: IssuedCredentials;
  SubjectFromWebIdentityToken: string;
  AssumedRoleUser: { Arn: string; AssumedRoleId: string };
  /** The packed size of the session policies in percent of the maximum, when there are any. */
  PackedPolicySize?: number;
  Provider: string;
  Audience: string;
}

/** The result of GetCallerIdentity. */
export interface GetCallerIdentityResult {
  UserId: string;
  Account: string;
  Arn: string;
}

/** The pools whose tokens STS accepts, and what their tokens look like. */
export interface WebIdentityTokens {
  /** Checks a token's structure, header and signature (not its claims). Never throws. */
  verify(token: string): VerifyResult;
  /** Whether `iss` is the issuer of the emulator's Cognito OpenID tokens (per partition). */
  isCognitoIssuer(iss: string): boolean;
  /** Whether the identity pool with this id exists. */
  poolExists(poolId: string): boolean;
  /**
   * The pools that name this role as one of theirs, with the kind of identity each gives it to:
   * the trust policy Cognito's console writes for the role (its `aud` and `amr` conditions).
   */
  poolsTrusted(roleArn: string): readonly PoolTrust[];
}

/** One pool's trust in a role: tokens of `poolId` whose `amr` says `kind` may assume it. */
export interface PoolTrust {
  readonly poolId: string;
  readonly kind: 'authenticated' | 'unauthenticated';
}

/** What {@link StsService} needs. */
export interface StsOptions {
  readonly credentials: CredentialIssuer;
  readonly tokens: WebIdentityTokens;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/** The most managed session policies STS takes ("up to 10"; its model sets no maximum). */
const MAX_POLICY_ARNS = 10;
/** The default of AssumeRoleWithWebIdentity's DurationSeconds. */
const DEFAULT_DURATION_SECONDS = 3600;
/** `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`; the path and name are checked apart (linear). */
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/([\x21-\x7e]{1,577})$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const NOT_AUTHORIZED = 'Not authorized to perform sts:AssumeRoleWithWebIdentity';

interface RoleArnParts {
  partition: string;
  account: string;
  name: string;
}

function parseRoleArn(arn: string): RoleArnParts | undefined {
  const m = ROLE_ARN.exec(arn);
  if (m === null) return undefined;
  const [, partition, account, resource] = m as unknown as [string, string, string, string];
  const name = resource.slice(resource.lastIndexOf('/') + 1);
  if (!ROLE_NAME.test(name)) return undefined;
  return { partition, account, name };
}

/** A stable role id (`AROA` + 17 characters) for a role ARN, as IAM gives each role one. */
function roleId(roleArn: string): string {
  const h = createHash('sha256').update(roleArn).digest();
  let id = 'AROA';
  for (let i = 0; i < 17; i++) id += BASE32.charAt((h[i] ?? 0) & 31);
  return id;
}

function invalidToken(message: string): ServiceError {
  return new ServiceError('InvalidIdentityToken', message, 400);
}

/**
 * The emulator's STS, for the tokens and credentials it issues itself: AssumeRoleWithWebIdentity with
 * its Cognito OpenID tokens (the basic flow), and GetCallerIdentity for credentials it minted (the
 * caller is authenticated by the protocol layer with {@link StsService.credentialsFor}). There is no
 * IAM: a role ARN names a role that exists. The trust policy Cognito's console writes is applied to a
 * pool's own roles: its authenticated role only for tokens whose `amr` says `authenticated`, its
 * unauthenticated role only for guests' tokens. A handler throws a `ServiceError` with STS's code.
 */
export class StsService {
  readonly #credentials: CredentialIssuer;
  readonly #tokens: WebIdentityTokens;
  readonly #now: () => number;

  constructor(options: StsOptions) {
    this.#credentials = options.credentials;
    this.#tokens = options.tokens;
    this.#now = options.now;
  }

  /** AssumeRoleWithWebIdentity (input already valid against the model). */
  assumeRoleWithWebIdentity(input: AssumeRoleWithWebIdentityInput): AssumeRoleWithWebIdentityResult {
    const role = parseRoleArn(input.RoleArn);
    if (role === undefined) throw new ServiceError('ValidationError', 'Request ARN is invalid', 400);
    if ((input.PolicyArns?.length ?? 0) > MAX_POLICY_ARNS) {
      throw new ServiceError(
        'ValidationError',
        `1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to ${String(MAX_POLICY_ARNS)}`,
        400,
      );
    }
    const policy = input.Policy === undefined ? undefined : checkSessionPolicy(input.Policy);
    const packed = packedPolicySize(
      policy,
      (input.PolicyArns ?? []).flatMap((p) => (typeof p.arn === 'string' ? [p.arn] : [])),
    );

    const v = this.#tokens.verify(input.WebIdentityToken);
    if (!v.ok) {
      throw invalidToken(
        v.reason === 'token signature is invalid' || v.reason === 'token kid is unknown'
          ? 'Invalid identity token: its signature does not verify with the provider keys.'
          : 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
      );
    }
    const c = v.claims;
    if (typeof c.iss !== 'string' || !this.#tokens.isCognitoIssuer(c.iss)) {
      throw invalidToken(`No OpenIDConnect provider found in your account for ${String(c.iss)}`);
    }
    const nowSec = Math.floor(this.#now() / 1000);
    if (typeof c.exp !== 'number' || c.exp <= nowSec) {
      throw new ServiceError(
        'ExpiredTokenException',
        `Token expired: current date/time ${nowSec} must be before the expiration date/time ${String(c.exp)}`,
        400,
      );
    }
    if (typeof c.aud !== 'string' || !this.#tokens.poolExists(c.aud)) throw invalidToken('Incorrect token audience');
    if (typeof c.sub !== 'string' || c.sub === '') throw invalidToken('The token has no subject');
    const amr = Array.isArray(c.amr) ? c.amr : [];
    const kind = amr.includes('unauthenticated')
      ? 'unauthenticated'
      : amr.includes('authenticated')
        ? 'authenticated'
        : undefined;
    // A pool's role trusts that pool's tokens alone (`aud`), of its kind of identity (`amr`); a role
    // named by several pools trusts each of them. A role of no pool has a trust policy we cannot see.
    const trust = this.#tokens.poolsTrusted(input.RoleArn);
    if (trust.length > 0 && !trust.some((t) => t.poolId === c.aud && t.kind === kind)) {
      throw new ServiceError('AccessDenied', NOT_AUTHORIZED, 403);
    }

    const credentials = this.#credentials.issue(
      {
        roleArn: input.RoleArn,
        identityId: c.sub,
        sessionName: input.RoleSessionName,
        durationSeconds: input.DurationSeconds ?? DEFAULT_DURATION_SECONDS,
      },
      this.#now(),
    );
    return {
      Credentials: credentials,
      SubjectFromWebIdentityToken: c.sub,
      AssumedRoleUser: {
        Arn: assumedRoleArn(role, input.RoleSessionName),
        AssumedRoleId: `${roleId(input.RoleArn)}:${input.RoleSessionName}`,
      },
      ...(packed === undefined ? {} : { PackedPolicySize: packed }),
      Provider: c.iss.replace(/^https:\/\//, ''),
      Audience: c.aud,
    };
  }

  /**
   * The session of credentials the emulator minted, when `accessKeyId` and `sessionToken` belong
   * together: InvalidClientTokenId (403) otherwise, ExpiredToken (400) once they expired.
   */
  credentialsFor(
    accessKeyId: string,
    sessionToken: string | undefined,
  ): { record: CredentialRecord; secretAccessKey: string } {
    const found = this.#credentials.resolve(accessKeyId, sessionToken);
    if (found === undefined) {
      throw new ServiceError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    }
    if (found.record.expiration * 1000 <= this.#now()) {
      throw new ServiceError('ExpiredToken', 'The security token included in the request is expired', 400);
    }
    return found;
  }

  /** GetCallerIdentity for an authenticated caller: the assumed-role session of its credentials. */
  getCallerIdentity(caller: CredentialRecord): GetCallerIdentityResult {
    // Roles of GetCredentialsForIdentity come from the pool's configuration, which Cognito's model
    // checks more loosely than STS: read what there is.
    const parts = caller.roleArn.split(':');
    const role = parseRoleArn(caller.roleArn) ?? {
      partition: parts[1] ?? 'aws',
      account: parts[4] ?? '',
      name: caller.roleArn.slice(caller.roleArn.lastIndexOf('/') + 1),
    };
    return {
      UserId: `${roleId(caller.roleArn)}:${caller.sessionName}`,
      Account: role.account,
      Arn: assumedRoleArn(role, caller.sessionName),
    };
  }
}

function assumedRoleArn(role: RoleArnParts, sessionName: string): string {
  return `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${sessionName}`;
}
