// Every AWS operation the backend sends (src/broker, src/middleware, src/fleet), as its IAM action.
// A leaf: it imports nothing, so the `./cdk` entry can read it without loading the broker.
// test/unit/cdk/broker-operations.test.ts scans the sources for each `@aws-sdk/client-*` command
// they import or construct and fails when this list misses one, or names one nothing sends; it also
// checks each `public` mark against the service model (`"authtype": "none"`).

/**
 * IAM action (`service:Operation`) → `signed` when the call is signed with the backend's AWS
 * credentials (their IAM policy must allow it), `public` when the service takes it unsigned (the
 * identity's own token authorizes it; no IAM action is needed).
 */
export const BROKER_AWS_OPERATIONS = Object.freeze({
  'cognito-identity:DescribeIdentity': 'signed',
  'cognito-identity:DescribeIdentityPool': 'signed',
  'cognito-identity:GetIdentityPoolRoles': 'signed',
  'cognito-identity:GetOpenIdTokenForDeveloperIdentity': 'signed',
  'cognito-identity:LookupDeveloperIdentity': 'signed',
  'cognito-identity:MergeDeveloperIdentities': 'signed',
  'cognito-identity:UnlinkDeveloperIdentity': 'signed',
  'cognito-identity:GetCredentialsForIdentity': 'public',
  'cognito-identity:GetId': 'public',
  'cognito-identity:UnlinkIdentity': 'public',
  'sts:AssumeRoleWithWebIdentity': 'public',
} as const satisfies Record<string, 'signed' | 'public'>);

/** The IAM actions the backend's AWS credentials must be allowed: the signed operations, sorted. */
export const BROKER_IAM_ACTIONS: readonly string[] = Object.freeze(
  Object.entries(BROKER_AWS_OPERATIONS)
    .filter(([, auth]) => auth === 'signed')
    .map(([action]) => action)
    .sort(),
);
