// BrokerIdentityPool, synthesized with cdk-nag's AwsSolutions rules (an unacknowledged finding
// fails the synthesis): the pool, the roles and their trust policies as the console writes them,
// the toggles, the per-user S3 policy, and grantBroker.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BootstraplessSynthesizer, Duration, Stack, Validations, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { synthesize } from '../../../deploy/synth.js';
import { BROKER_IAM_ACTIONS } from '../../../src/broker/aws-operations.js';
import { BrokerIdentityPool, IDENTITY_ID_VARIABLE, type BrokerIdentityPoolProps } from '../../../src/cdk/index.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

function poolTemplate(
  props: Partial<BrokerIdentityPoolProps> = {},
  extra?: (stack: Stack, pool: BrokerIdentityPool) => void,
): Template {
  return Template.fromJSON(
    synthesize((scope, id) => {
      const stack = new Stack(scope, id, { env: ENV, synthesizer: new BootstraplessSynthesizer() });
      const pool = new BrokerIdentityPool(stack, 'Identity', { developerProviderName: 'login.example.app', ...props });
      if (props.allowGuests === true) {
        Validations.of(pool.identityPool).acknowledge({
          id: 'AwsSolutions-COG7',
          reason: 'The test asks for guests.',
        });
      }
      extra?.(stack, pool);
      return stack;
    }),
  );
}

/** The trust statement of the role of identities of kind `amr`. */
function trust(amr: string, actions: unknown) {
  return {
    AssumeRolePolicyDocument: {
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: 'cognito-identity.amazonaws.com' },
          Action: actions,
          Condition: {
            StringEquals: { 'cognito-identity.amazonaws.com:aud': { Ref: Match.stringLikeRegexp('^IdentityPool') } },
            'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': amr },
          },
        },
      ],
      Version: '2012-10-17',
    },
  };
}

void describe('BrokerIdentityPool', () => {
  void test('by default: the developer provider, no guests, no classic flow, one authenticated role', () => {
    const t = poolTemplate();
    t.resourceCountIs('AWS::Cognito::IdentityPool', 1);
    t.hasResourceProperties('AWS::Cognito::IdentityPool', {
      DeveloperProviderName: 'login.example.app',
      AllowUnauthenticatedIdentities: false,
      AllowClassicFlow: false,
    });
    t.resourceCountIs('AWS::IAM::Role', 1);
    t.hasResourceProperties('AWS::IAM::Role', trust('authenticated', 'sts:AssumeRoleWithWebIdentity'));
    t.hasResourceProperties('AWS::Cognito::IdentityPoolRoleAttachment', {
      IdentityPoolId: { Ref: Match.stringLikeRegexp('^IdentityPool') },
      Roles: { authenticated: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IdentityAuthenticatedRole'), 'Arn'] } },
    });
    t.hasResourceProperties('AWS::Cognito::IdentityPoolRoleAttachment', {
      Roles: Match.not(Match.objectLike({ unauthenticated: Match.anyValue() })),
    });
    t.resourceCountIs('AWS::IAM::Policy', 0);
  });

  void test('guests: the pool allows them and has an unauthenticated role, trusted for amr unauthenticated', () => {
    const t = poolTemplate({ allowGuests: true });
    t.hasResourceProperties('AWS::Cognito::IdentityPool', { AllowUnauthenticatedIdentities: true });
    t.resourceCountIs('AWS::IAM::Role', 2);
    t.hasResourceProperties('AWS::IAM::Role', trust('unauthenticated', 'sts:AssumeRoleWithWebIdentity'));
    t.hasResourceProperties('AWS::Cognito::IdentityPoolRoleAttachment', {
      Roles: {
        authenticated: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IdentityAuthenticatedRole'), 'Arn'] },
        unauthenticated: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IdentityUnauthenticatedRole'), 'Arn'] },
      },
    });
  });

  void test('principal tags add sts:TagSession to both trust policies', () => {
    const t = poolTemplate({ allowGuests: true, principalTags: true });
    const both = ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'];
    t.hasResourceProperties('AWS::IAM::Role', trust('authenticated', both));
    t.hasResourceProperties('AWS::IAM::Role', trust('unauthenticated', both));
  });

  void test('the classic flow only when asked', () => {
    poolTemplate({ allowClassicFlow: true }).hasResourceProperties('AWS::Cognito::IdentityPool', {
      AllowClassicFlow: true,
    });
  });

  void test('userFiles: each identity lists, reads and writes its own folder, on the authenticated role only', () => {
    const t = poolTemplate({}, (stack) => {
      const files = s3.Bucket.fromBucketName(stack, 'Files', 'my-files');
      const pool = new BrokerIdentityPool(stack, 'WithFiles', {
        developerProviderName: 'files.example.app',
        userFiles: { bucket: files, prefix: 'private/' },
      });
      Validations.of(pool.userFilesPolicy!).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::my-files/private/<cognito-identity.amazonaws.com:sub>/*]',
        reason: 'The per-identity folder is the point of the policy.',
      });
    });
    const bucketArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::my-files']] };
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^WithFilesAuthenticatedRole') }],
      PolicyDocument: {
        Statement: [
          {
            Sid: 'ListOwnFolder',
            Effect: 'Allow',
            Action: 's3:ListBucket',
            Resource: bucketArn,
            Condition: {
              StringLike: {
                's3:prefix': [`private/${IDENTITY_ID_VARIABLE}`, `private/${IDENTITY_ID_VARIABLE}/*`],
              },
            },
          },
          {
            Sid: 'ReadWriteOwnFolder',
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            Resource: {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::my-files/private/${IDENTITY_ID_VARIABLE}/*`]],
            },
          },
        ],
      },
    });
    assert.equal(IDENTITY_ID_VARIABLE, '${cognito-identity.amazonaws.com:sub}');
  });

  void test('cdk-nag: an unacknowledged finding fails the synthesis (the per-user wildcard is one)', () => {
    assert.throws(
      () =>
        poolTemplate({}, (stack) => {
          const files = s3.Bucket.fromBucketName(stack, 'Files', 'my-files');
          new BrokerIdentityPool(stack, 'WithFiles', {
            developerProviderName: 'files.example.app',
            userFiles: { bucket: files },
          });
        }),
      /AwsSolutions-IAM5/,
    );
    assert.throws(
      () =>
        poolTemplate({}, (_stack, pool) => {
          (pool.identityPool as { allowUnauthenticatedIdentities: boolean }).allowUnauthenticatedIdentities = true;
        }),
      /AwsSolutions-COG7/,
    );
  });

  void test('grantBroker: exactly the signed Cognito operations, on this pool ARN', () => {
    const t = poolTemplate({}, (stack, pool) => {
      const backend = new iam.Role(stack, 'Backend', {
        assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      });
      pool.grantBroker(backend);
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Backend') }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: [...BROKER_IAM_ACTIONS],
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cognito-identity:eu-west-1:123456789012:identitypool/',
                  { Ref: Match.stringLikeRegexp('^IdentityPool') },
                ],
              ],
            },
          },
        ],
      },
    });
    assert.deepEqual([...BROKER_IAM_ACTIONS].sort(), [
      'cognito-identity:DescribeIdentity',
      'cognito-identity:DescribeIdentityPool',
      'cognito-identity:GetIdentityPoolRoles',
      'cognito-identity:GetOpenIdTokenForDeveloperIdentity',
      'cognito-identity:LookupDeveloperIdentity',
      'cognito-identity:MergeDeveloperIdentities',
      'cognito-identity:UnlinkDeveloperIdentity',
    ]);
  });

  void test('bad props are a TypeError naming the prop', () => {
    const stack = new Stack();
    const make = (props: unknown) => () =>
      new BrokerIdentityPool(stack, `P${Math.random()}`, props as BrokerIdentityPoolProps);
    assert.throws(make(undefined), { name: 'TypeError', message: /props/ });
    assert.throws(make({ developerProviderName: 'has space' }), {
      name: 'TypeError',
      message: /developerProviderName/,
    });
    assert.throws(make({ developerProviderName: 'x'.repeat(129) }), {
      name: 'TypeError',
      message: /developerProviderName/,
    });
    assert.throws(make({ developerProviderName: 'ok', allowGuests: 'yes' }), {
      name: 'TypeError',
      message: /allowGuests/,
    });
    assert.throws(make({ developerProviderName: 'ok', principalTags: 1 }), {
      name: 'TypeError',
      message: /principalTags/,
    });
    const bucket = s3.Bucket.fromBucketName(stack, 'B', 'files');
    assert.throws(make({ developerProviderName: 'ok', userFiles: { bucket, prefix: 'private' } }), {
      name: 'TypeError',
      message: /prefix/,
    });
    // `*` and `?` are IAM wildcards: a prefix with one would reach other identities' folders.
    for (const prefix of ['*/', 'a*/', 'a?/']) {
      assert.throws(make({ developerProviderName: 'ok', userFiles: { bucket, prefix } }), {
        name: 'TypeError',
        message: /prefix/,
      });
    }
    for (const maxSessionDuration of [Duration.minutes(30), Duration.hours(13), 3600]) {
      assert.throws(make({ developerProviderName: 'ok', maxSessionDuration }), {
        name: 'TypeError',
        message: /maxSessionDuration/,
      });
    }
    assert.ok(IDENTITY_ID_VARIABLE.includes('cognito-identity.amazonaws.com:sub'));
  });

  void test("maxSessionDuration is the authenticated role's (the classic flow's 12-hour credentials)", () => {
    const t = poolTemplate({ allowGuests: true, maxSessionDuration: Duration.hours(12) });
    const roles = t.findResources('AWS::IAM::Role');
    const durations = Object.values(roles).map(
      (r) => (r as { Properties: { MaxSessionDuration?: number; Description: string } }).Properties,
    );
    assert.deepEqual(durations.map((p) => [p.Description.split(' ')[1], p.MaxSessionDuration]).sort(), [
      ['authenticated', 43_200],
      ['unauthenticated', undefined],
    ]);
  });
});
