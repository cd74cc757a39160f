import { Duration, Stack, Token, aws_cognito as cognito, aws_iam as iam, type aws_s3 as s3 } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { BROKER_IAM_ACTIONS } from '../broker/aws-operations.js';

/** The federated principal of identity pools, and the keys of its trust conditions. */
const COGNITO = 'cognito-identity.amazonaws.com';
/** The IAM policy variable of the caller's identity id, resolved by IAM at request time. */
export const IDENTITY_ID_VARIABLE = '${cognito-identity.amazonaws.com:sub}';

// From the Cognito Identity service model: DeveloperProviderName, IdentityPoolName.
const DEVELOPER_PROVIDER = /^[\w._-]{1,128}$/;
const POOL_NAME = /^[\w\s+=,.@-]{1,128}$/;
// An S3 key prefix for the per-user folders: characters S3 keys take safely (and, unless empty, a
// final `/`); not `*` nor `?`, IAM wildcards that would widen each identity's folder to others'.
const KEY_PREFIX = /^[\w!.'()/-]*$/;

/** Options of {@link BrokerIdentityPool}. Checked once in the constructor; a bad value is a `TypeError`. */
export interface BrokerIdentityPoolProps {
  /**
   * The pool's developer provider name (`developerProviderName` of `createBroker`, the example app's
   * `COGNITO_DEVELOPER_PROVIDER`), e.g. `login.example.app`. 1–128 of `[A-Za-z0-9_.-]`. It cannot be
   * changed once the pool exists.
   */
  readonly developerProviderName: string;
  /** The pool's name. Default: the construct's path, as CloudFormation names it. */
  readonly identityPoolName?: string;
  /**
   * Allow unauthenticated (guest) identities, and create the unauthenticated role (the broker's
   * `guestRoute`, `preflight({ guests: true })`). Default `false`.
   */
  readonly allowGuests?: boolean;
  /**
   * Allow the basic (classic) authflow, `GetOpenIdToken` + `AssumeRoleWithWebIdentity` by the
   * client itself. Default `false`: the enhanced flow (`GetCredentialsForIdentity`) only.
   */
  readonly allowClassicFlow?: boolean;
  /**
   * The broker passes principal tags (`principalTags` of `createBroker`): add `sts:TagSession` to
   * both roles' trust policies, without which Cognito cannot hand the tags to STS. Default `false`.
   */
  readonly principalTags?: boolean;
  /**
   * The authenticated role's maximum session duration, 1–12 hours: the longest credentials the
   * classic flow (`getScopedCredentials` with `durationSeconds`) can get for it. Default 1 hour.
   */
  readonly maxSessionDuration?: Duration;
  /**
   * An example policy on the authenticated role: each identity reads, writes and lists its own
   * folder `<prefix><identity id>/` of this bucket, and nothing else of it. Default: no such policy.
   */
  readonly userFiles?: {
    readonly bucket: s3.IBucket;
    /** Key prefix before the identity id: empty, or ending in `/` (e.g. `private/`). Default `''`. */
    readonly prefix?: string;
  };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new TypeError(message);
}

/** A literal is checked; a token (a CloudFormation parameter) is checked by CloudFormation. */
function literal(value: unknown): value is string {
  return typeof value === 'string' && !Token.isUnresolved(value);
}

function checkProps(props: BrokerIdentityPoolProps): void {
  // Types do not protect JavaScript callers.
  check(typeof (props as unknown) === 'object' && (props as unknown) !== null, 'props must be an object');
  const { developerProviderName: provider, identityPoolName: name, userFiles } = props;
  check(typeof provider === 'string', 'developerProviderName must be a string');
  check(
    !literal(provider) || DEVELOPER_PROVIDER.test(provider),
    'developerProviderName must be 1–128 of [A-Za-z0-9_.-]',
  );
  check(name === undefined || typeof name === 'string', 'identityPoolName must be a string');
  check(!literal(name) || POOL_NAME.test(name), 'identityPoolName must be 1–128 of [A-Za-z0-9_ +=,.@-]');
  for (const key of ['allowGuests', 'allowClassicFlow', 'principalTags'] as const) {
    check(props[key] === undefined || typeof props[key] === 'boolean', `${key} must be a boolean`);
  }
  const longest = props.maxSessionDuration;
  if (longest !== undefined) {
    check(longest instanceof Duration, 'maxSessionDuration must be a Duration');
    const seconds = longest.toSeconds();
    check(
      Token.isUnresolved(seconds) || (seconds >= 3600 && seconds <= 43_200),
      'maxSessionDuration must be 1–12 hours',
    );
  }
  if (userFiles !== undefined) {
    check(typeof (userFiles.bucket as unknown) === 'object', 'userFiles.bucket must be an s3.IBucket');
    const prefix = userFiles.prefix;
    check(prefix === undefined || typeof prefix === 'string', 'userFiles.prefix must be a string');
    check(
      !literal(prefix) || (KEY_PREFIX.test(prefix) && (prefix === '' || prefix.endsWith('/'))),
      "userFiles.prefix must be '' or end in '/', of [A-Za-z0-9_!.'()/-]",
    );
  }
}

/**
 * An identity pool for the broker's developer-authenticated identities, with the roles Cognito
 * hands out, trusted as the console writes them (`cognito-identity.amazonaws.com` may call
 * `sts:AssumeRoleWithWebIdentity` for this pool's identities only, authenticated or guests), and
 * {@link grantBroker} for the backend.
 */
export class BrokerIdentityPool extends Construct {
  /** The pool, as CloudFormation has it. */
  readonly identityPool: cognito.CfnIdentityPool;
  /** `REGION:GUID`: `identityPoolId` of `createBroker`, the example app's `COGNITO_IDENTITY_POOL_ID`. */
  readonly identityPoolId: string;
  /** `arn:…:cognito-identity:REGION:ACCOUNT:identitypool/REGION:GUID`. */
  readonly identityPoolArn: string;
  /** The developer provider name, as given. */
  readonly developerProviderName: string;
  /** The role of authenticated identities: give it what your users may do in AWS. */
  readonly authenticatedRole: iam.Role;
  /** The role of guests, with `allowGuests` only. */
  readonly unauthenticatedRole: iam.Role | undefined;
  /** The example per-user S3 policy on the authenticated role, with `userFiles` only. */
  readonly userFilesPolicy: iam.Policy | undefined;
  /** Gives the pool its roles. */
  readonly roleAttachment: cognito.CfnIdentityPoolRoleAttachment;

  constructor(scope: Construct, id: string, props: BrokerIdentityPoolProps) {
    super(scope, id);
    checkProps(props);
    const guests = props.allowGuests === true;
    this.developerProviderName = props.developerProviderName;
    this.identityPool = new cognito.CfnIdentityPool(this, 'Pool', {
      developerProviderName: props.developerProviderName,
      allowUnauthenticatedIdentities: guests,
      allowClassicFlow: props.allowClassicFlow === true,
      ...(props.identityPoolName === undefined ? {} : { identityPoolName: props.identityPoolName }),
    });
    this.identityPoolId = this.identityPool.ref;
    this.identityPoolArn = Stack.of(this).formatArn({
      service: 'cognito-identity',
      resource: 'identitypool',
      resourceName: this.identityPoolId,
    });
    this.authenticatedRole = this.role(
      'AuthenticatedRole',
      'authenticated',
      props.principalTags === true,
      props.maxSessionDuration,
    );
    this.unauthenticatedRole = guests
      ? this.role('UnauthenticatedRole', 'unauthenticated', props.principalTags === true, undefined)
      : undefined;
    this.roleAttachment = new cognito.CfnIdentityPoolRoleAttachment(this, 'Roles', {
      identityPoolId: this.identityPoolId,
      roles: {
        authenticated: this.authenticatedRole.roleArn,
        ...(this.unauthenticatedRole === undefined ? {} : { unauthenticated: this.unauthenticatedRole.roleArn }),
      },
    });
    this.userFilesPolicy = props.userFiles === undefined ? undefined : this.userFiles(props.userFiles);
  }

  /** A role that Cognito may assume for this pool's identities of one kind (`amr`). */
  private role(
    id: string,
    amr: 'authenticated' | 'unauthenticated',
    tags: boolean,
    maxSessionDuration: Duration | undefined,
  ): iam.Role {
    const principal = new iam.FederatedPrincipal(
      COGNITO,
      {
        StringEquals: { [`${COGNITO}:aud`]: this.identityPoolId },
        'ForAnyValue:StringLike': { [`${COGNITO}:amr`]: amr },
      },
      'sts:AssumeRoleWithWebIdentity',
    );
    return new iam.Role(this, id, {
      assumedBy: tags ? principal.withSessionTags() : principal,
      description: `The ${amr} identities of the identity pool ${this.node.path}`,
      ...(maxSessionDuration === undefined ? {} : { maxSessionDuration }),
    });
  }

  private userFiles({ bucket, prefix = '' }: NonNullable<BrokerIdentityPoolProps['userFiles']>): iam.Policy {
    const folder = `${prefix}${IDENTITY_ID_VARIABLE}`;
    return new iam.Policy(this, 'UserFilesPolicy', {
      roles: [this.authenticatedRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'ListOwnFolder',
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [folder, `${folder}/*`] } },
        }),
        new iam.PolicyStatement({
          sid: 'ReadWriteOwnFolder',
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          resources: [bucket.arnForObjects(`${folder}/*`)],
        }),
      ],
    });
  }

  /**
   * The statement the backend's AWS credentials need: exactly the signed Cognito operations the
   * broker sends (`BROKER_IAM_ACTIONS`), on this pool only. The public, unsigned operations
   * (GetId, GetCredentialsForIdentity, UnlinkIdentity) need none.
   */
  brokerPolicyStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({ actions: [...BROKER_IAM_ACTIONS], resources: [this.identityPoolArn] });
  }

  /** Allows the backend's role (or user) to run the broker against this pool: {@link brokerPolicyStatement}. */
  grantBroker(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...BROKER_IAM_ACTIONS],
      resourceArns: [this.identityPoolArn],
    });
  }
}
