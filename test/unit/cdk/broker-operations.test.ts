// The backend's IAM policy is derived from the code: every AWS operation that src/broker,
// src/middleware and src/fleet send (each `@aws-sdk/client-*` command they import or construct) is
// in BROKER_AWS_OPERATIONS, and nothing else is; its signed/public marks agree with the service
// models; and grantBroker (test/unit/cdk/identity-pool.cases.ts) grants exactly the signed ones.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BROKER_AWS_OPERATIONS, BROKER_IAM_ACTIONS } from '../../../src/broker/aws-operations.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** The code that runs in the backend with its AWS credentials. */
const BACKEND = ['src/broker', 'src/middleware', 'src/fleet'];
/** AWS SDK client package → IAM service prefix, and its service model in model/. */
const SERVICES: Record<string, { prefix: string; model: string }> = {
  '@aws-sdk/client-cognito-identity': {
    prefix: 'cognito-identity',
    model: 'model/cognito-identity-2014-06-30.service-2.json',
  },
  '@aws-sdk/client-sts': { prefix: 'sts', model: 'model/sts-2011-06-15.service-2.json' },
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** `import [type] { … } | * as x | x from '@aws-sdk/client-…'`. */
// Reads our own sources, and each quantified part is bounded by a different character.
// eslint-disable-next-line security/detect-unsafe-regex
const SDK_IMPORT = /import\s+(type\s+)?(\{[^}]*\}|\*\s+as\s+\w+|\w+)\s+from\s+'(@aws-sdk\/client-[\w-]+)'/g;

/** Names a client package exports that are no operation: clients, errors, enums. */
const NOT_AN_OPERATION = /(?:Client|Exception|ServiceException)$/;

/**
 * The IAM actions one source file sends, read statically: each value import of a `…Command` from
 * an `@aws-sdk/client-*` package, and each `new …Command(` (which must be such an import). What the
 * scan cannot read (a namespace or dynamic import, an aggregated client, an unknown package) is a
 * problem, so that a new way of calling AWS cannot slip past it.
 */
function scan(file: string, text: string): { actions: string[]; problems: string[] } {
  const actions: string[] = [];
  const problems: string[] = [];
  const local = new Map<string, string>();
  for (const m of text.matchAll(SDK_IMPORT)) {
    const [, typeOnly, clause = '', pkg = ''] = m;
    if (typeOnly !== undefined) continue;
    const service = SERVICES[pkg];
    if (service === undefined) {
      problems.push(`${file}: imports ${pkg}, which the scan does not know: add it to SERVICES`);
      continue;
    }
    if (!clause.startsWith('{')) {
      problems.push(`${file}: \`${clause}\` from ${pkg}: import the commands by name`);
      continue;
    }
    for (const spec of clause.slice(1, -1).split(',')) {
      const parts = spec.trim().split(/\s+as\s+/);
      const imported = parts[0] ?? '';
      if (imported === '' || imported.startsWith('type ')) continue;
      if (imported.endsWith('Command')) {
        const action = `${service.prefix}:${imported.slice(0, -'Command'.length)}`;
        local.set(parts[1] ?? imported, action);
        actions.push(action);
      } else if (!NOT_AN_OPERATION.test(imported)) {
        problems.push(`${file}: imports ${imported} from ${pkg}, which may send an operation the scan cannot see`);
      }
    }
  }
  if (/import\(\s*['"`]@aws-sdk\/client-/.test(text)) {
    problems.push(`${file}: a dynamic import of an AWS SDK client: import the commands statically`);
  }
  for (const m of text.matchAll(/\bnew\s+(\w+Command)\s*\(/g)) {
    const name = m[1] ?? '';
    if (!local.has(name)) problems.push(`${file}: new ${name}( is no command imported from an AWS SDK client`);
  }
  return { actions, problems };
}

function scanBackend(): { actions: Set<string>; problems: string[] } {
  const actions = new Set<string>();
  const problems: string[] = [];
  for (const dir of BACKEND) {
    for (const file of sources(join(root, dir))) {
      const r = scan(relative(root, file), readFileSync(file, 'utf8'));
      for (const a of r.actions) actions.add(a);
      problems.push(...r.problems);
    }
  }
  return { actions, problems };
}

void describe('BROKER_AWS_OPERATIONS is what the backend sends', () => {
  void test('the scan reads every AWS SDK call of src/broker, src/middleware and src/fleet', () => {
    assert.deepEqual(scanBackend().problems, []);
  });

  void test('every operation sent is listed, and every listed one is sent', () => {
    const sent = [...scanBackend().actions].sort();
    const listed = Object.keys(BROKER_AWS_OPERATIONS).sort();
    assert.deepEqual(
      {
        'sent but missing from BROKER_AWS_OPERATIONS (src/broker/aws-operations.ts)': sent.filter(
          (a) => !listed.includes(a),
        ),
        'listed in BROKER_AWS_OPERATIONS but sent nowhere': listed.filter((a) => !sent.includes(a)),
      },
      {
        'sent but missing from BROKER_AWS_OPERATIONS (src/broker/aws-operations.ts)': [],
        'listed in BROKER_AWS_OPERATIONS but sent nowhere': [],
      },
    );
  });

  void test('an operation is public exactly when its service model takes it unsigned', () => {
    for (const [action, auth] of Object.entries(BROKER_AWS_OPERATIONS)) {
      const [prefix, operation = ''] = action.split(':');
      const service = Object.values(SERVICES).find((s) => s.prefix === prefix);
      assert.ok(service, `${action}: no model for ${prefix}`);
      const model = JSON.parse(readFileSync(join(root, service.model), 'utf8')) as {
        operations: Record<string, { authtype?: string }>;
      };
      const op = model.operations[operation];
      assert.ok(op, `${action} is no operation of ${service.model}`);
      assert.equal(auth, op.authtype === 'none' ? 'public' : 'signed', action);
    }
  });

  void test('BROKER_IAM_ACTIONS are the signed operations, all on Cognito Identity (grantBroker scopes them to the pool)', () => {
    const signed = Object.entries(BROKER_AWS_OPERATIONS)
      .filter(([, auth]) => auth === 'signed')
      .map(([a]) => a)
      .sort();
    assert.deepEqual([...BROKER_IAM_ACTIONS], signed);
    assert.deepEqual(
      BROKER_IAM_ACTIONS.filter((a) => !a.startsWith('cognito-identity:')),
      [],
      'a signed operation of another service needs its own statement in grantBroker, not the pool ARN',
    );
    assert.ok(BROKER_IAM_ACTIONS.includes('cognito-identity:GetOpenIdTokenForDeveloperIdentity'));
    assert.ok(!BROKER_IAM_ACTIONS.includes('cognito-identity:GetCredentialsForIdentity'));
  });
});

void describe('the scan', () => {
  void test('finds a command imported and sent, with its IAM prefix, and skips type imports', () => {
    const r = scan(
      'x.ts',
      `import { type GetIdCommandOutput, GetIdentityPoolRolesCommand } from '@aws-sdk/client-cognito-identity';
import type { DescribeIdentityCommand } from '@aws-sdk/client-cognito-identity';
import { AssumeRoleWithWebIdentityCommand as Assume, STSClient } from '@aws-sdk/client-sts';
await client.send(new GetIdentityPoolRolesCommand({}));
await sts.send(new Assume({}));`,
    );
    assert.deepEqual(r, {
      actions: ['cognito-identity:GetIdentityPoolRoles', 'sts:AssumeRoleWithWebIdentity'],
      problems: [],
    });
  });

  void test('reports what it cannot read', () => {
    const r = scan(
      'x.ts',
      `import * as cognito from '@aws-sdk/client-cognito-identity';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
const { GetIdCommand } = await import('@aws-sdk/client-cognito-identity');
client.send(new GetIdCommand({}));`,
    );
    assert.equal(r.problems.length, 5, r.problems.join('\n'));
  });
});
