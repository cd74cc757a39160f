// The README's tracing recipe (examples/observability/telemetry.ts, printed verbatim there) run as a
// user runs it: `node --import ./telemetry.js` before the README app, spans sent over OTLP/HTTP to a
// collector (here a loopback server that keeps what it receives). Every Cognito call of a login and
// a credentials fetch is exactly one span, the broker's, although the AWS SDK's instrumentation is on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { emulatorEnv, inheritedEnv, spawnTsx } from '../helpers/example-app.js';

const LIMIT_MS = 60_000;

interface ReceivedSpan {
  readonly scope: string;
  readonly name: string;
  readonly kind: number;
}

let emu: RunningEmulator;
let collector: Server;
let endpoint = '';
const received: ReceivedSpan[] = [];

before(async () => {
  emu = await startEmulator({
    seed: [{ name: 'otel', developerProviderName: 'login.example.app', allowUnauthenticatedIdentities: true }],
  });
  // OTLP/HTTP with JSON bodies, as the exporter sends by default.
  collector = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const doc = JSON.parse(body) as {
        resourceSpans?: { scopeSpans?: { scope?: { name?: string }; spans?: { name: string; kind: number }[] }[] }[];
      };
      for (const rs of doc.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) received.push({ scope: ss.scope?.name ?? '', name: s.name, kind: s.kind });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  collector.listen(0, '127.0.0.1');
  await once(collector, 'listening');
  endpoint = `http://127.0.0.1:${String((collector.address() as AddressInfo).port)}/v1/traces`;
});

after(async () => {
  collector.close();
  await emu.stop();
});

void test('one span per Cognito call reaches the OTLP collector, with the AWS SDK instrumentation on', async () => {
  const app = spawnTsx(['--import', './examples/observability/telemetry.ts', 'examples/minimal/app.ts'], {
    ...inheritedEnv(),
    PORT: '0',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
    ...emulatorEnv(emu),
  });
  let out = '';
  app.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  app.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(() => app.kill('SIGKILL'), LIMIT_MS);
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const onData = (): void => {
        const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
        if (url !== undefined) resolve(url);
      };
      app.stdout.on('data', onData);
      app.once('exit', () => {
        reject(new Error(`the app exited before listening: ${out}`));
      });
    });
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-pass' }),
    });
    assert.equal(login.status, 200, out);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.equal((await fetch(`${base}/aws/credentials`, { headers: { cookie } })).status, 200);
    const closed = once(app, 'close');
    app.kill('SIGTERM'); // the recipe flushes its batch at exit
    await closed;
  } finally {
    clearTimeout(killer);
  }

  const calls = emu.counters();
  const cognito = received.filter((s) => s.name.startsWith('CognitoIdentity'));
  const expected = Object.entries(calls)
    .flatMap(([op, n]) => Array.from({ length: n }, () => `CognitoIdentity/${op}`))
    .sort();
  assert.ok(expected.includes('CognitoIdentity/GetCredentialsForIdentity'), JSON.stringify(calls));
  assert.deepEqual(cognito.map((s) => s.name).sort(), expected, `spans: ${JSON.stringify(received)}; output: ${out}`);
  assert.ok(cognito.every((s) => s.scope === 'cognito-identity-broker' && s.kind === 3)); // SPAN_KIND_CLIENT
});
