// Loads the built package (`npm run build` first) by its own name, through `import` and `require`,
// in fresh Node processes: what a user's ESM or CommonJS app sees.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
};

/** Runs a script in a fresh node with the repository as cwd (so the package resolves by its name). */
function node(args: string[]): string {
  return execFileSync(process.execPath, ['--no-warnings', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
}

const subpaths: Record<string, string[]> = {
  '.': ['createBroker', 'BrokerError', 'cognitoRouter', 'brokerErrorHandler', 'isBrokerError'],
  './cdk': ['BrokerIdentityPool'],
  './client': ['fromBroker', 'fromBrokerToken', 'BrokerClientError'],
  './emulator': ['startEmulator', 'describeSessionToken', 'EmulatorControlClient', 'EmulatorControlError'],
  './fleet': ['redisFleet'],
  './middleware': [
    'cognitoRouter',
    'brokerErrorHandler',
    'credentialsRoute',
    'scopedCredentialsRoute',
    'tokenRoute',
    'identityRoute',
    'linkLoginRoute',
    'unlinkLoginRoute',
    'mergeRoute',
    'guestRoute',
    'afterLogin',
    'forgetOnLogout',
    'sameOriginOnly',
    'createRateLimiter',
  ],
  './passport': ['BearerStrategy'],
  './testing': ['startTestBroker'],
};

// Outside CI a missing build is a skip; in CI (which builds first) it is a failure.
const built = existsSync(join(root, 'dist', 'index.js'));
void describe(
  'the built package',
  { skip: built || process.env.CI !== undefined ? false : 'run `npm run build` first' },
  () => {
    void test('exports exactly the documented subpaths', () => {
      assert.deepEqual(Object.keys(pkg.exports).sort(), [...Object.keys(subpaths), './package.json'].sort());
    });

    for (const [subpath, names] of Object.entries(subpaths)) {
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;

      void test(`import('${specifier}') exposes ${names.join(', ')}`, () => {
        const out = node([
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]))));`,
        ]);
        const types = JSON.parse(out) as Record<string, string>;
        for (const name of names) assert.equal(types[name], 'function', `${specifier} exports ${name}`);
      });

      void test(`require('${specifier}') works from CommonJS`, () => {
        const out = node([
          '-e',
          `const m = require(${JSON.stringify(specifier)}); console.log(JSON.stringify(${JSON.stringify(names)}.map((n) => typeof m[n])));`,
        ]);
        assert.deepEqual(
          JSON.parse(out),
          names.map(() => 'function'),
        );
      });
    }

    void test('the root entry exports exactly the documented runtime names, no internals', () => {
      const out = node([
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pkg.name)}); console.log(JSON.stringify(Object.keys(m).sort()));`,
      ]);
      assert.deepEqual(JSON.parse(out), [
        'BrokerError',
        'brokerErrorHandler',
        'cognitoRouter',
        'createBroker',
        'isBrokerError',
        'redactPaths',
      ]);
    });

    void test('the root entry exports redactPaths as a list of pino paths', () => {
      const out = node(['-e', `console.log(JSON.stringify(require(${JSON.stringify(pkg.name)}).redactPaths));`]);
      const paths = JSON.parse(out) as unknown;
      assert.ok(Array.isArray(paths));
      assert.ok(paths.includes('req.headers.authorization'));
    });

    void test('the root entry loads neither express nor passport', () => {
      const out = node([
        '-e',
        `require(${JSON.stringify(pkg.name)}); console.log(JSON.stringify(Object.keys(require.cache).filter((p) => /node_modules\\/(express|passport)\\//.test(p))));`,
      ]);
      assert.deepEqual(JSON.parse(out), []);
    });

    void test('no other entry loads the testing entry', () => {
      for (const subpath of Object.keys(subpaths).filter((p) => p !== './testing')) {
        const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
        const out = node([
          '-e',
          `require(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(require.cache).filter((p) => /\\/dist\\/testing\\//.test(p))));`,
        ]);
        assert.deepEqual(JSON.parse(out), [], specifier);
      }
    });

    void test('the client entry loads no Node built-in and nothing outside itself', () => {
      const out = node([
        '-e',
        `const before = new Set(Object.keys(require.cache)); require(${JSON.stringify(`${pkg.name}/client`)}); console.log(JSON.stringify(Object.keys(require.cache).filter((p) => !before.has(p) && !p.includes('/dist/client/'))));`,
      ]);
      assert.deepEqual(JSON.parse(out), []);
    });

    void test('the bin runs from dist and answers --help with exit 0', () => {
      const bin = pkg.bin['cognito-identity-emulator'];
      assert.ok(bin !== undefined);
      const res = spawnSync(process.execPath, ['--no-warnings', join(root, bin), '--help'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(res.status, 0);
      assert.match(res.stdout, /--state-file/);
      assert.match(readFileSync(join(root, bin), 'utf8'), /^#!\/usr\/bin\/env node\n/);
    });
  },
);
