// deploy/backend-stack.ts, the CDK stack the README shows, synthesizes with cdk-nag's AwsSolutions
// rules passing and gives its backend role the broker's policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootstraplessSynthesizer } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { BackendStack } from '../../../deploy/backend-stack.js';
import { synthesize } from '../../../deploy/synth.js';
import { BROKER_IAM_ACTIONS } from '../../../src/broker/aws-operations.js';

void test("the README's BackendStack passes cdk-nag and grants the backend role the broker's policy", () => {
  const template = synthesize(
    (scope, id) => new BackendStack(scope, id, { synthesizer: new BootstraplessSynthesizer() }),
  );
  const t = Template.fromJSON(template);
  t.hasResourceProperties('AWS::Cognito::IdentityPool', {
    DeveloperProviderName: 'login.example.app',
    AllowUnauthenticatedIdentities: false,
    AllowClassicFlow: false,
  });
  t.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: Match.stringLikeRegexp('^BackendRole') }],
    PolicyDocument: { Statement: [Match.objectLike({ Action: [...BROKER_IAM_ACTIONS] })] },
  });
  t.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: Match.stringLikeRegexp('^IdentityAuthenticatedRole') }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'ReadWriteOwnFolder' })]) },
  });
  assert.deepEqual(Object.keys(template.Outputs as object).sort(), [
    'CognitoDeveloperProvider',
    'CognitoIdentityPoolId',
  ]);
});
