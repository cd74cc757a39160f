import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliUsageError, parseCliArgs } from '../../../src/emulator/cli-args.js';

void test('parses every option into startEmulator options', () => {
  const cmd = parseCliArgs([
    '--host',
    '127.0.0.1',
    '--port',
    '4566',
    '--region',
    'eu-west-1',
    '--state-file',
    '/tmp/s.json',
    '--state-log-bytes',
    '1048576',
    '--seed',
    'demo app:login.demo',
    '--seed',
    'second',
    '--allow-guests',
    '--login-provider',
    'graph.facebook.com=1234',
    '--login-provider',
    'accounts.google.com=abc.apps',
    '--strict-sigv4',
    'AKID:se:cret',
    '--no-control',
    '--quotas',
    'aws',
  ]);
  assert.deepEqual(cmd, {
    help: false,
    options: {
      host: '127.0.0.1',
      port: 4566,
      region: 'eu-west-1',
      quotas: 'aws',
      stateFile: '/tmp/s.json',
      stateLogBytes: 1_048_576,
      seed: [
        {
          name: 'demo app',
          developerProviderName: 'login.demo',
          allowUnauthenticatedIdentities: true,
          supportedLoginProviders: { 'graph.facebook.com': '1234', 'accounts.google.com': 'abc.apps' },
        },
        {
          name: 'second',
          allowUnauthenticatedIdentities: true,
          supportedLoginProviders: { 'graph.facebook.com': '1234', 'accounts.google.com': 'abc.apps' },
        },
      ],
      strictSigV4: [{ accessKeyId: 'AKID', secretAccessKey: 'se:cret' }],
      controlEndpoint: false,
    },
  });
  assert.deepEqual(parseCliArgs([]), { help: false, options: {} });
  assert.deepEqual(parseCliArgs(['-h']), { help: true });
  assert.deepEqual(parseCliArgs(['--port=0']), { help: false, options: { port: 0 } });
});

void test('bad arguments throw a CliUsageError naming the argument', () => {
  const bad: [string[], RegExp][] = [
    [['--bogus'], /bogus/],
    [['extra'], /extra/],
    [['--port', 'abc'], /--port must be an integer/],
    [['--port', '70000'], /--port/],
    [['--port', '-1'], /--port/],
    [['--port'], /port/],
    [['--region', 'mars'], /--region must look like us-east-1/],
    [['--quotas', 'fast'], /--quotas must be aws or none/],
    [['--quotas'], /quotas/],
    [['--seed', ''], /--seed: pool name/],
    [['--seed', 'ok:bad provider'], /developer provider/],
    [['--seed', 'a', '--seed', 'a'], /given twice/],
    [['--allow-guests'], /apply to seeded pools/],
    [['--seed', 'a', '--login-provider', 'graph.facebook.com'], /PROVIDER=APPID/],
    [['--strict-sigv4', 'nosecret'], /ACCESS_KEY_ID:SECRET_ACCESS_KEY/],
    [['--strict-sigv4', 'AKID:'], /ACCESS_KEY_ID:SECRET/],
    [['--state-file', ''], /--state-file needs a path/],
    [['--state-file', 's.json', '--state-log-bytes=-1'], /--state-log-bytes must be a non-negative integer/],
    [['--state-file', 's.json', '--state-log-bytes', '1e6'], /--state-log-bytes must be a non-negative integer/],
    [['--state-log-bytes', '100'], /--state-log-bytes applies to --state-file/],
    [['--host', 'a b'], /--host/],
  ];
  for (const [argv, msg] of bad) {
    assert.throws(
      () => parseCliArgs(argv),
      (e: Error) => e instanceof CliUsageError && msg.test(e.message),
      argv.join(' '),
    );
  }
});
