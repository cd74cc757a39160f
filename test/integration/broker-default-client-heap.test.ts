// The default client's cached middleware stack must not keep a user's OpenID token on the heap (the
// SDK's shared context holds the first command of each type). The emulator runs in another process
// here: in this one it would hold the tokens it issued.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { settle } from '../helpers/broker-fixture.js';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { createBroker } from '../../src/index.js';

const DEV = 'login.default-client-heap.test';
const CLI = fileURLToPath(new URL('../../src/emulator/cli.ts', import.meta.url));

void it(
  'leaves no OpenID token on the heap through the SDK’s cached middleware stack',
  { timeout: 30_000 },
  async () => {
    const emulator = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--seed', `heap:${DEV}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: emulator.stdout });
      const head: string[] = [];
      for await (const line of lines) {
        head.push(line);
        if (head.length === 2) break;
      }
      const endpoint = head[0] ?? '';
      const { identityPoolId } = JSON.parse(head[1] ?? '{}') as { identityPoolId: string };
      assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY = endpoint;
      process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
      process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      delete process.env.AWS_PROFILE;
      delete process.env.AWS_SESSION_TOKEN;

      const broker = createBroker({ identityPoolId, developerProviderName: DEV });
      // Two users: the first GetCredentialsForIdentity of the client carries the first user's token.
      await broker.getCredentials('first-user');
      await broker.getCredentials('second-user');
      // Kept as bytes outside the heap, so that the test itself does not put them in the snapshot.
      const tokens = [
        Buffer.from((await broker.getToken('first-user')).token),
        Buffer.from((await broker.getToken('second-user')).token),
      ];
      await settle();
      const dir = mkdtempSync(join(tmpdir(), 'default-client-heap-'));
      try {
        const snapshot = readFileSync(writeHeapSnapshot(join(dir, 'client.heapsnapshot')));
        assert.notEqual(snapshot.indexOf(Buffer.from(DEV)), -1, 'control: the snapshot holds the heap’s strings');
        for (const token of tokens) assert.equal(snapshot.indexOf(token), -1, 'a token is on the heap');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      assert.equal(broker.stats().credentials.size, 2);
    } finally {
      emulator.kill('SIGTERM');
      if (emulator.exitCode === null) await once(emulator, 'exit');
    }
  },
);
