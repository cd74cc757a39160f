// Synthesizes the deploy stacks without touching the working tree: each run in a temporary
// directory (removed after), no bootstrap, no path or version metadata, cdk-nag's AwsSolutions
// rules applied. Run as a script (`npm run deploy:template`) it writes deploy/cloudformation.yaml.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, BootstraplessSynthesizer, Validations, type Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import { TemplateStack } from './template-stack.js';

/** A CloudFormation template, as JSON. */
export type CfnTemplate = Record<string, unknown> & {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: unknown }>;
};

/**
 * Synthesizes the one stack `make` builds, with cdk-nag's AwsSolutions rules. Returns its template;
 * throws cdk's validation error (its message lists each finding) when a rule fails unacknowledged.
 */
export function synthesize(make: (scope: Construct, id: string) => Stack): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'cib-cdk-'));
  try {
    const app = new App({
      outdir,
      analyticsReporting: false,
      // In memory: a failed rule is thrown with the report in its message, and nothing is printed.
      context: { 'aws:cdk:enable-path-metadata': false, '@aws-cdk/core:appMode': 'inmemory' },
    });
    const stack = make(app, 'CognitoIdentityBroker');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
    const assembly = app.synth();
    return assembly.getStackByName(stack.stackName).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const HEADER = `# Generated from src/cdk by deploy/synth.ts (npm run deploy:template): do not edit by hand.
# aws cloudformation deploy --template-file deploy/cloudformation.yaml --stack-name cognito-identity-broker \\
#   --capabilities CAPABILITY_IAM --parameter-overrides DeveloperProviderName=login.example.app
`;

/** deploy/cloudformation.yaml's text: {@link TemplateStack} as YAML. */
export function templateYaml(): string {
  const template = synthesize(
    (scope, id) => new TemplateStack(scope, id, { synthesizer: new BootstraplessSynthesizer() }),
  );
  return HEADER + stringify(template, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

export const TEMPLATE_PATH = fileURLToPath(new URL('cloudformation.yaml', import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(TEMPLATE_PATH, templateYaml());
}
