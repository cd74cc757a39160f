// The shared fixture of the conformance suites: Debian's real AWS CLI v2 run against an emulator in
// strict SigV4 mode with an isolated environment.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';

export const AWS = '/usr/bin/aws';
export const REGION = 'us-east-1';
export const KEY = { accessKeyId: 'AKIDCONFORMANCE0001', secretAccessKey: 'conformance/secret+key0000000000000000000' };
export const PROVIDER = 'login.conformance';
export const CLI_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const skipReason =
  !existsSync(AWS) && !process.env.CI
    ? `${AWS} (Debian's AWS CLI v2) is missing: apt-get install -y awscli to run the conformance suite`
    : undefined;

/** Runs `/usr/bin/aws … cognito-identity <args>` against the emulator with an isolated environment. */
export function makeCli(emulator: RunningEmulator, home: string) {
  return (
    args: readonly string[],
    credentials: { accessKeyId: string; secretAccessKey: string } = KEY,
    globalArgs: readonly string[] = [],
    region: string = REGION,
  ): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        AWS,
        [
          '--endpoint-url',
          emulator.endpoint,
          '--region',
          region,
          '--output',
          'json',
          ...globalArgs,
          'cognito-identity',
          ...args,
        ],
        {
          timeout: CLI_TIMEOUT_MS,
          // Nothing inherited from the developer's shell: no profiles, no real credentials, no pager.
          env: {
            PATH: '/usr/bin:/bin',
            HOME: home,
            LANG: 'C.UTF-8',
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            AWS_CONFIG_FILE: join(home, 'no-config'),
            AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
            AWS_PAGER: '',
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_MAX_ATTEMPTS: '1',
            AWS_RETRY_MODE: 'standard',
          },
        },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });
}

export function json(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, `aws exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export function empty(r: CliResult): void {
  assert.equal(r.code, 0, `aws exited with ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout.trim(), '');
}

export function failed(r: CliResult, type: string, message: string | RegExp): void {
  // The CLI exits with 254 when the service answered with an error.
  assert.equal(r.code, 254, `expected exit 254, got ${r.code}: ${r.stderr}`);
  assert.ok(r.stderr.includes(`An error occurred (${type})`), r.stderr);
  if (typeof message === 'string') assert.ok(r.stderr.includes(message), r.stderr);
  else assert.match(r.stderr, message);
}

export async function setup(t: TestContext): Promise<{ emulator: RunningEmulator; aws: ReturnType<typeof makeCli> }> {
  const emulator = await startEmulator({ region: REGION, strictSigV4: [KEY] });
  const home = mkdtempSync(join(tmpdir(), 'cib-awscli-'));
  t.after(async () => {
    await emulator.stop();
    rmSync(home, { recursive: true, force: true });
  });
  return { emulator, aws: makeCli(emulator, home) };
}
