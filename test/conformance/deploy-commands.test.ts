// The README's plain-CloudFormation commands ("Deploy to AWS"), run as written by bash with Debian's
// AWS CLI (its endpoint moved) against a stand-in for CloudFormation and IAM on 127.0.0.1 (their
// Query protocol, the calls these commands make): the deploy sends deploy/cloudformation.yaml with
// parameters it declares, the policy attached is the stack's BrokerPolicyArn, and the .env file
// written from the outputs is one the example app starts with.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readConfig } from '../../examples/express-app/config.js';
import { AWS, CLI_TIMEOUT_MS, skipReason } from './aws-cli-fixture.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE = join(root, 'deploy', 'cloudformation.yaml');
const POOL = 'us-east-1:0f0e1d2c-3b4a-5968-7788-99aabbccddee';
const POLICY = 'arn:aws:iam::123456789012:policy/cognito-identity-broker-BrokerPolicy-1A2B3C';
const CFN = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** The shell block after `<!-- deploy-commands -->` in the README. */
function readmeCommands(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /<!-- deploy-commands -->\n```sh\n([\s\S]*?\n)```\n/.exec(readme);
  assert.ok(m, 'the README has a sh block after <!-- deploy-commands -->');
  return m[1]!;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Template {
  Parameters: Record<string, { AllowedValues?: string[] }>;
  Outputs: Record<string, { Description: string }>;
}

/** A stand-in for CloudFormation (one stack) and IAM's AttachRolePolicy; records each call. */
function fakeAws(template: Template): { server: Server; calls: URLSearchParams[] } {
  const calls: URLSearchParams[] = [];
  let parameters: Record<string, string> | undefined;
  let created = false;
  const outputs = (): string =>
    Object.entries(template.Outputs)
      .map(([key, o]) => {
        const value =
          {
            CognitoIdentityPoolId: POOL,
            CognitoDeveloperProvider: parameters?.DeveloperProviderName ?? '',
            CognitoAllowGuests: parameters?.AllowGuests ?? 'false',
            BrokerPolicyArn: POLICY,
          }[key] ?? `arn:aws:iam::123456789012:role/${key}`;
        return `<member><OutputKey>${key}</OutputKey><OutputValue>${xml(value)}</OutputValue><Description>${xml(o.Description)}</Description></member>`;
      })
      .join('');
  const answer = (action: string, result: string): string =>
    `<${action}Response xmlns="${CFN}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      calls.push(p);
      const action = p.get('Action') ?? '';
      let status = 200;
      let text: string;
      switch (action) {
        case 'DescribeStacks':
          if (!created) {
            status = 400;
            text = `<ErrorResponse xmlns="${CFN}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xml(p.get('StackName') ?? '')} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
          } else {
            text = answer(
              action,
              `<Stacks><member><StackName>${xml(p.get('StackName') ?? '')}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/s/1</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${outputs()}</Outputs></member></Stacks>`,
            );
          }
          break;
        case 'CreateChangeSet':
          parameters = {};
          for (let i = 1; p.has(`Parameters.member.${i}.ParameterKey`); i++) {
            parameters[p.get(`Parameters.member.${i}.ParameterKey`)!] =
              p.get(`Parameters.member.${i}.ParameterValue`) ?? '';
          }
          text = answer(
            action,
            '<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/c/1</Id><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/s/1</StackId>',
          );
          break;
        case 'DescribeChangeSet':
          text = answer(
            action,
            '<ChangeSetName>c</ChangeSetName><StackName>s</StackName><Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus><Changes></Changes>',
          );
          break;
        case 'ExecuteChangeSet':
          created = true;
          text = answer(action, '');
          break;
        case 'AttachRolePolicy':
          text = `<AttachRolePolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AttachRolePolicyResponse>`;
          break;
        default:
          status = 400;
          text = `<ErrorResponse xmlns="${CFN}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${xml(action)} is not in the stand-in</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
      }
      res.writeHead(status, { 'content-type': 'text/xml' }).end(text);
    });
  });
  return { server, calls };
}

void test(
  "the README's CloudFormation commands deploy the template, attach the broker policy and write the app's environment",
  { skip: skipReason },
  async (t) => {
    const template = parse(readFileSync(TEMPLATE, 'utf8')) as Template;
    const { server, calls } = fakeAws(template);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'cib-deploy-'));
    t.after(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    mkdirSync(join(dir, 'deploy'));
    copyFileSync(TEMPLATE, join(dir, 'deploy', 'cloudformation.yaml'));
    const { port } = server.address() as AddressInfo;
    // Debian's AWS CLI (2.9) predates AWS_ENDPOINT_URL: an `aws` first on PATH adds --endpoint-url.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'aws'), `#!/bin/sh\nexec ${AWS} --endpoint-url http://127.0.0.1:${port} "$@"\n`, {
      mode: 0o755,
    });

    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        '/bin/bash',
        ['--norc', '--noprofile', '-euo', 'pipefail', '-c', readmeCommands()],
        {
          cwd: dir,
          timeout: CLI_TIMEOUT_MS,
          env: {
            PATH: `${join(dir, 'bin')}:/usr/bin:/bin`,
            HOME: dir,
            LANG: 'C.UTF-8',
            AWS_ACCESS_KEY_ID: 'AKIDDEPLOYTEST000001',
            AWS_SECRET_ACCESS_KEY: 'deploy/test/secret/key/000000000000000000',
            AWS_DEFAULT_REGION: 'us-east-1',
            AWS_CONFIG_FILE: join(dir, 'no-config'),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
            AWS_PAGER: '',
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_MAX_ATTEMPTS: '1',
          },
        },
        (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
        },
      );
    });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);

    const create = calls.find((c) => c.get('Action') === 'CreateChangeSet');
    assert.ok(create, calls.map((c) => c.get('Action')).join(', '));
    assert.equal(create.get('TemplateBody'), readFileSync(TEMPLATE, 'utf8'));
    assert.equal(create.get('Capabilities.member.1'), 'CAPABILITY_IAM');
    for (let i = 1; create.has(`Parameters.member.${i}.ParameterKey`); i++) {
      const key = create.get(`Parameters.member.${i}.ParameterKey`)!;
      const declared = template.Parameters[key];
      assert.ok(declared, `the template declares ${key}`);
      const value = create.get(`Parameters.member.${i}.ParameterValue`)!;
      if (declared.AllowedValues) assert.ok(declared.AllowedValues.includes(value), `${key}=${value}`);
    }
    assert.ok(calls.some((c) => c.get('Action') === 'ExecuteChangeSet'));
    const attach = calls.find((c) => c.get('Action') === 'AttachRolePolicy');
    assert.equal(attach?.get('PolicyArn'), POLICY);
    assert.equal(attach.get('RoleName'), 'my-backend-role');

    const written = readFileSync(join(dir, '.env.cognito'), 'utf8');
    assert.equal(
      written,
      `COGNITO_IDENTITY_POOL_ID=${POOL}\nCOGNITO_DEVELOPER_PROVIDER=login.example.app\nCOGNITO_ALLOW_GUESTS=false\n`,
    );
    const env = Object.fromEntries(
      written
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    const config = readConfig(env);
    assert.deepEqual(config.cognito, { identityPoolId: POOL, developerProviderName: 'login.example.app' });
    assert.equal(config.allowGuests, false);
  },
);
