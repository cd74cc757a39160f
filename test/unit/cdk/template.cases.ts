// deploy/cloudformation.yaml is what deploy/synth.ts makes of deploy/template-stack.ts today (with
// cdk-nag's AwsSolutions rules passing), and its outputs are the example app's environment.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parse } from 'yaml';
import { TEMPLATE_PATH, templateYaml, type CfnTemplate } from '../../../deploy/synth.js';
import { ENVIRONMENT_OUTPUTS } from '../../../deploy/template-stack.js';
import { BROKER_IAM_ACTIONS } from '../../../src/broker/aws-operations.js';

const config = readFileSync(fileURLToPath(new URL('../../../examples/express-app/config.ts', import.meta.url)), 'utf8');
const fresh = templateYaml();
const template = parse(fresh) as CfnTemplate;
const t = Template.fromJSON(template);

void describe('deploy/cloudformation.yaml', () => {
  void test('is up to date with src/cdk and deploy/template-stack.ts (else: npm run deploy:template)', () => {
    assert.equal(readFileSync(TEMPLATE_PATH, 'utf8'), fresh);
  });

  void test('UserFilesPrefix refuses IAM wildcards (`*`, `?`)', () => {
    const pattern = (template.Parameters as Record<string, { AllowedPattern: string }>).UserFilesPrefix!.AllowedPattern;
    // eslint-disable-next-line security/detect-non-literal-regexp -- the template's own pattern, as CloudFormation applies it
    const accepts = (value: string) => new RegExp(`^(?:${pattern})$`).test(value);
    assert.ok(accepts('private/') && accepts(''));
    for (const bad of ['*/', 'a*/', 'a?/']) assert.equal(accepts(bad), false, bad);
  });

  void test('ships in the npm package', () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as {
      files: string[];
    };
    assert.ok(pkg.files.includes('deploy/cloudformation.yaml'));
  });

  void test('reads back as the synthesized template (strings stay strings: "2012-10-17", "true")', () => {
    const again = parse(readFileSync(TEMPLATE_PATH, 'utf8')) as CfnTemplate;
    assert.deepEqual(again, template);
    assert.match(fresh, /Version: "2012-10-17"/);
  });

  void test('its outputs COGNITO_* are the example app environment variables, named one to one', () => {
    const outputs = template.Outputs as Record<string, { Description: string }>;
    for (const [key, variable] of Object.entries(ENVIRONMENT_OUTPUTS)) {
      assert.equal(outputs[key]?.Description, variable);
      assert.equal(key.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase(), variable);
      assert.ok(config.includes(`set(env, '${variable}')`), `examples/express-app/config.ts reads ${variable}`);
    }
    const cognitoVariables = [...config.matchAll(/set\(env, '(COGNITO_\w+)'\)/g)].map((m) => m[1]);
    // COGNITO_LINK_PROVIDER names a public login provider, which this pool does not configure.
    assert.deepEqual(
      [...new Set(cognitoVariables)].filter((v) => v !== 'COGNITO_LINK_PROVIDER').sort(),
      Object.values(ENVIRONMENT_OUTPUTS).sort(),
    );
  });

  void test('the broker policy: exactly BROKER_IAM_ACTIONS on the pool', () => {
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: [...BROKER_IAM_ACTIONS],
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([
                  ':cognito-identity:',
                  ':identitypool/',
                  { Ref: Match.stringLikeRegexp('^IdentityPool') },
                ]),
              ],
            },
          },
        ],
      },
    });
  });

  void test('parameters switch guests, TagSession, the classic flow and the bucket policy', () => {
    t.hasResource('AWS::IAM::Role', {
      Condition: 'AllowGuestsOn',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Condition: Match.objectLike({
                'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'unauthenticated' },
              }),
            }),
          ],
        },
      },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: {
              'Fn::If': [
                'PrincipalTagsOn',
                ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'],
                'sts:AssumeRoleWithWebIdentity',
              ],
            },
          }),
        ],
      },
    });
    t.hasResourceProperties('AWS::Cognito::IdentityPool', {
      AllowUnauthenticatedIdentities: { 'Fn::If': ['AllowGuestsOn', true, false] },
      AllowClassicFlow: { 'Fn::If': ['AllowClassicFlowOn', true, false] },
      DeveloperProviderName: { Ref: 'DeveloperProviderName' },
    });
    t.hasResource('AWS::IAM::Policy', { Condition: 'HasUserFilesBucket' });
    t.hasParameter('AllowGuests', { Default: 'false' });
    t.hasParameter('AllowClassicFlow', { Default: 'false' });
  });

  void test('each cdk-nag acknowledgement says why', () => {
    const acknowledged = Object.values(template.Resources).flatMap(
      (r) =>
        (r.Metadata as { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } | undefined)?.cdk_nag
          ?.rules_to_suppress ?? [],
    );
    assert.deepEqual(
      acknowledged.map((a) => a.id.replace(/\[.*/, '')),
      ['AwsSolutions-COG7', 'AwsSolutions-IAM5'],
    );
    for (const a of acknowledged) assert.ok(a.reason.length >= 60, `${a.id}: ${a.reason}`);
  });
});
