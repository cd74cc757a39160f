// The stack behind deploy/cloudformation.yaml, for those who deploy without the CDK: the same
// construct, its choices as CloudFormation parameters, and outputs named after the example app's
// environment variables (CognitoIdentityPoolId → COGNITO_IDENTITY_POOL_ID). `npm run deploy:template`
// writes the file; test/unit/cdk/template.cases.ts fails when it is stale.
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Fn,
  Stack,
  type StackProps,
  Validations,
  aws_iam as iam,
  aws_s3 as s3,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BrokerIdentityPool } from '../src/cdk/index.js';

/** Output key → the example app's environment variable it sets. */
export const ENVIRONMENT_OUTPUTS = {
  CognitoIdentityPoolId: 'COGNITO_IDENTITY_POOL_ID',
  CognitoDeveloperProvider: 'COGNITO_DEVELOPER_PROVIDER',
  CognitoAllowGuests: 'COGNITO_ALLOW_GUESTS',
} as const;

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`BrokerIdentityPool made no ${what}`);
  return value;
}

function flag(scope: Construct, id: string, description: string): CfnCondition {
  const p = new CfnParameter(scope, id, {
    type: 'String',
    allowedValues: ['true', 'false'],
    default: 'false',
    description,
  });
  return new CfnCondition(scope, `${id}On`, { expression: Fn.conditionEquals(p.valueAsString, 'true') });
}

export class TemplateStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.templateOptions.description =
      'cognito-identity-broker: an identity pool for developer-authenticated identities, its roles, and the managed policy the backend needs (deploy/cloudformation.yaml, generated from src/cdk).';

    const provider = new CfnParameter(this, 'DeveloperProviderName', {
      type: 'String',
      allowedPattern: '[\\w._-]{1,128}',
      description:
        'The developer provider name (COGNITO_DEVELOPER_PROVIDER), e.g. login.example.app. Fixed once the pool exists.',
    });
    const guests = flag(this, 'AllowGuests', 'Allow unauthenticated (guest) identities and create their role.');
    const tags = flag(
      this,
      'PrincipalTags',
      'The broker passes principal tags: add sts:TagSession to the trust policies of the roles.',
    );
    const classic = flag(
      this,
      'AllowClassicFlow',
      'Allow the basic (classic) authflow. Leave false unless you need it.',
    );
    const bucketName = new CfnParameter(this, 'UserFilesBucketName', {
      type: 'String',
      default: '',
      description:
        'Optional: an existing S3 bucket in which each identity may read and write its own folder <prefix><identity id>/.',
    });
    const prefix = new CfnParameter(this, 'UserFilesPrefix', {
      type: 'String',
      default: 'private/',
      allowedPattern: "([\\w!.'()/-]*/)?",
      description: "The key prefix of the per-identity folders: empty, or ending in '/'.",
    });
    const hasBucket = new CfnCondition(this, 'HasUserFilesBucket', {
      expression: Fn.conditionNot(Fn.conditionEquals(bucketName.valueAsString, '')),
    });

    // Built with every option on; the parameters then switch them off through conditions.
    const identity = new BrokerIdentityPool(this, 'Identity', {
      developerProviderName: provider.valueAsString,
      allowGuests: true,
      principalTags: true,
      userFiles: {
        bucket: s3.Bucket.fromBucketName(this, 'UserFiles', bucketName.valueAsString),
        prefix: prefix.valueAsString,
      },
    });
    identity.identityPool.allowUnauthenticatedIdentities = Fn.conditionIf(guests.logicalId, true, false);
    identity.identityPool.allowClassicFlow = Fn.conditionIf(classic.logicalId, true, false);
    const userFiles = present(identity.userFilesPolicy, 'the user files policy');
    const guestRole = present(identity.unauthenticatedRole, 'the unauthenticated role');
    (guestRole.node.defaultChild as iam.CfnRole).cfnOptions.condition = guests;
    identity.roleAttachment.roles = {
      authenticated: identity.authenticatedRole.roleArn,
      unauthenticated: Fn.conditionIf(guests.logicalId, guestRole.roleArn, Aws.NO_VALUE),
    };
    for (const role of [identity.authenticatedRole, guestRole]) {
      (role.node.defaultChild as iam.CfnRole).addPropertyOverride(
        'AssumeRolePolicyDocument.Statement.0.Action',
        Fn.conditionIf(
          tags.logicalId,
          ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'],
          'sts:AssumeRoleWithWebIdentity',
        ),
      );
    }
    (userFiles.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = hasBucket;

    const brokerPolicy = new iam.ManagedPolicy(this, 'BrokerPolicy', {
      description:
        'Attach to the role or user the backend runs as: exactly the Cognito calls the broker signs, on this pool.',
      statements: [identity.brokerPolicyStatement()],
    });
    // What cdk-nag's AwsSolutions rules say of this stack, and why it stays.
    Validations.of(identity.identityPool).acknowledge({
      id: 'AwsSolutions-COG7',
      reason:
        'Guests are off unless the AllowGuests parameter says true (the rule cannot read a parameter); when on, the unauthenticated role has no permissions until you give it some.',
    });
    Validations.of(userFiles).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<UserFilesBucketName>/<UserFilesPrefix><cognito-identity.amazonaws.com:sub>/*]',
      reason:
        "The wildcard is inside the caller's own folder: IAM replaces cognito-identity.amazonaws.com:sub with the identity id, so each identity reaches only its own objects.",
    });

    new CfnOutput(this, 'CognitoIdentityPoolId', {
      value: identity.identityPoolId,
      description: ENVIRONMENT_OUTPUTS.CognitoIdentityPoolId,
    });
    new CfnOutput(this, 'CognitoDeveloperProvider', {
      value: provider.valueAsString,
      description: ENVIRONMENT_OUTPUTS.CognitoDeveloperProvider,
    });
    new CfnOutput(this, 'CognitoAllowGuests', {
      value: Fn.conditionIf(guests.logicalId, 'true', 'false').toString(),
      description: ENVIRONMENT_OUTPUTS.CognitoAllowGuests,
    });
    new CfnOutput(this, 'BrokerPolicyArn', {
      value: brokerPolicy.managedPolicyArn,
      description: "The managed policy to attach to the backend's role or user.",
    });
    new CfnOutput(this, 'AuthenticatedRoleArn', {
      value: identity.authenticatedRole.roleArn,
      description: 'The role of signed-in identities: attach what your users may do in AWS.',
    });
  }
}
