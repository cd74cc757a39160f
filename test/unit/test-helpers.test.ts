// The shared test helpers: the suites' checks are only as good as these, so each is proven here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { logSink } from '../helpers/log-sink.js';
import { CLOCK_START_MS, ManualClock } from '../helpers/manual-clock.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** Runs a test file made of `body` (with `SecretLedger` and `logSink` imported) in a child node; returns its exit status and output. */
function runTestFile(body: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cib-helpers-'));
  try {
    const file = join(dir, 'fixture.test.ts');
    const helpers = pathToFileURL(join(import.meta.dirname, '..', 'helpers')).href;
    writeFileSync(
      file,
      `import { it } from 'node:test';\n` +
        `import { logSink } from '${helpers}/log-sink.ts';\n` +
        `import { SecretLedger } from '${helpers}/secret-ledger.ts';\n${body}\n`,
    );
    // Without the parent's NODE_TEST_CONTEXT, the child runs its file instead of reporting to this run.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    return { status: res.status, output: `${res.stdout}${res.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The leak checks of the security suites are only as good as this detector: prove it finds leaks.
void describe('SecretLedger (the secrets check of the security suites)', () => {
  void it('finds a remembered secret anywhere in the log, and in an error response', () => {
    const ledger = new SecretLedger();
    ledger.add('eyJraWQiOiJ1cy1lYXN0LTEtMSJ9.secret-part', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    ledger.assertNoLeak('{"msg":"token served","cache":"hit"}');
    assert.throws(() => {
      ledger.assertNoLeak(`${'x'.repeat(100_000)}"k":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`);
    }, /log contains a secret of 40 chars/);
    ledger.observe({
      status: 502,
      headers: {},
      text: '{"detail":"eyJraWQiOiJ1cy1lYXN0LTEtMSJ9.secret-part"}',
      body: {},
    } as never);
    assert.throws(() => {
      ledger.assertNoLeak('');
    }, /an error response contains a secret/);
  });

  void it('remembers the secrets a response carries: tokens, keys and cookie values', () => {
    const ledger = new SecretLedger();
    ledger.observe({
      status: 200,
      headers: { 'set-cookie': ['demo.sid=s%3AsessionCookieValue123.sig; Path=/; HttpOnly'] },
      text: '',
      body: {
        token: 'openid-token-value-123',
        secretAccessKey: 'secret-key-value-1234',
        sessionToken: 'session-token-value-1',
      },
    } as never);
    assert.equal(ledger.size, 5);
    for (const leaked of [
      'openid-token-value-123',
      'secret-key-value-1234',
      'session-token-value-1',
      's:sessionCookieValue123.sig',
    ]) {
      assert.throws(() => {
        ledger.assertNoLeak(`before ${leaked} after`);
      }, /log contains a secret/);
    }
  });
});

void describe('SecretLedger.checkAfter (the leak check every suite registers)', () => {
  const fixture = (logged: string): string =>
    `const logs = logSink();\nconst ledger = new SecretLedger();\nledger.checkAfter(() => logs.text());\n` +
    `it('sees a secret and logs', () => {\n  ledger.add('${SECRET}');\n  logs.logger.info({ key: '${logged}' }, 'served');\n});\n`;

  void it('fails the file run when one of its tests wrote a remembered secret to the log', () => {
    const { status, output } = runTestFile(fixture(SECRET));
    assert.equal(status, 1, output);
    assert.match(output, /log contains a secret of 40 chars/);
  });

  void it('passes the file run when no remembered secret reached the log', () => {
    const { status, output } = runTestFile(fixture('not-a-secret'));
    assert.equal(status, 0, output);
    assert.match(output, /# pass 1\b/, 'the fixture test ran');
  });
});

void describe('logSink (the in-memory pino logger)', () => {
  void it('keeps every line, parsed and raw, in order', () => {
    const logs = logSink();
    logs.logger.info({ n: 1 }, 'first');
    logs.logger.debug({ n: 2 }, 'second');
    logs.logger.info({ n: 3 }, 'first');
    assert.deepEqual(
      logs.lines().map((l) => [l.msg, l.n, l.level]),
      [
        ['first', 1, 30],
        ['second', 2, 20],
        ['first', 3, 30],
      ],
    );
    assert.deepEqual(
      logs.withMsg('first').map((l) => l.n),
      [1, 3],
    );
    assert.equal(logs.text(), logs.raw.join(''));
    assert.equal(logs.chars(), logs.text().length);
  });

  void it('until() resolves at once when its condition holds, else after the line that makes it hold', async () => {
    const logs = logSink();
    await logs.until(() => true);
    let done = 0;
    const waiting = logs.until(() => done === 2).then(() => 'resolved');
    const state = async (): Promise<string> =>
      Promise.race([waiting, new Promise<string>((r) => setImmediate(r, 'pending'))]);
    done = 1;
    logs.logger.info('one');
    assert.equal(await state(), 'pending');
    done = 2;
    assert.equal(await state(), 'pending', 'checked after a line, not by polling');
    logs.logger.info('two');
    assert.equal(await waiting, 'resolved');
  });

  void it('applies the package redactPaths only when asked', () => {
    const plain = logSink();
    const redacting = logSink({ redact: true });
    for (const { logger } of [plain, redacting])
      logger.info({ token: SECRET, user: { token: SECRET } }, 'token served');
    assert.ok(plain.text().includes(SECRET), 'the broker suites see what is really written');
    assert.ok(!redacting.text().includes(SECRET));
  });
});

void describe('ManualClock (the one clock of the suites)', () => {
  void it('starts at 2026-01-01 (never 0) and moves only when told, by milliseconds or seconds', () => {
    const clock = new ManualClock();
    assert.equal(clock.now(), CLOCK_START_MS);
    assert.equal(clock.now(), CLOCK_START_MS);
    clock.advance(250);
    clock.advanceSeconds(2);
    assert.equal(clock.now(), CLOCK_START_MS + 2250);
    clock.advance(-250);
    assert.equal(clock.now(), CLOCK_START_MS + 2000);
    clock.set(5);
    assert.equal(new ManualClock(1_000).now(), 1_000);
    assert.equal(clock.now(), 5);
  });
});
