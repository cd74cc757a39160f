// A CDK app's stack for the broker: the identity pool, its roles, and the backend's role allowed to
// run the broker. The README's "Deploy to AWS" shows this file; test/unit/cdk/backend-stack.cases.ts
// synthesizes it. In your CDK app: `new BackendStack(new App(), 'Backend')`.
import { CfnOutput, Stack, type StackProps, Validations, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { BrokerIdentityPool } from 'cognito-identity-broker/cdk';
import type { Construct } from 'constructs';

export class BackendStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const identity = new BrokerIdentityPool(this, 'Identity', {
      developerProviderName: 'login.example.app', // the broker's developerProviderName
      allowGuests: false, // true for guestRoute
      principalTags: false, // true when the broker passes principalTags
      // Each signed-in identity may use its own folder, private/<identity id>/, of this bucket.
      userFiles: { bucket: s3.Bucket.fromBucketName(this, 'Files', 'my-app-user-files'), prefix: 'private/' },
    });
    Validations.of(identity).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::my-app-user-files/private/<cognito-identity.amazonaws.com:sub>/*]',
      reason: "IAM replaces the variable with the caller's identity id: the wildcard stays in its own folder.",
    });

    // The role your backend runs as (here an ECS task's): grantBroker allows exactly what the broker calls.
    const backend = new iam.Role(this, 'BackendRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    identity.grantBroker(backend);

    // The example app's environment: COGNITO_IDENTITY_POOL_ID and COGNITO_DEVELOPER_PROVIDER.
    new CfnOutput(this, 'CognitoIdentityPoolId', { value: identity.identityPoolId });
    new CfnOutput(this, 'CognitoDeveloperProvider', { value: identity.developerProviderName });
  }
}
