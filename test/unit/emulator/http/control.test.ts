import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorControlClient, EmulatorControlError } from '../../../../src/emulator/control-client.js';
import { handleControl, isLoopback, isLoopbackHost, type ControlApi } from '../../../../src/emulator/http/control.js';
import { FaultController } from '../../../../src/emulator/faults.js';
import type { PoolInfo } from '../../../../src/emulator/types.js';

const POOL: PoolInfo = {
  identityPoolId: 'us-east-1:0000-1111',
  identityPoolName: 'seed',
  developerProviderName: 'login.app',
  roles: { authenticated: 'arn:aws:iam::000000000000:role/auth' },
};

async function start(t: TestContext): Promise<{ endpoint: string; faults: FaultController; minted: unknown[] }> {
  const faults = new FaultController();
  const minted: unknown[] = [];
  const api: ControlApi = {
    counters: () => faults.counters(),
    resetCounters: () => {
      faults.resetCounters();
    },
    setFault: (op, spec) => {
      faults.set(op, spec);
    },
    clearFaults: () => {
      faults.clear();
    },
    mintProviderToken: (provider, subject, opts) => {
      if (provider !== 'graph.facebook.com') throw new Error(`No pool supports the login provider ${provider}.`);
      minted.push({ provider, subject, opts });
      return `token-for-${subject}`;
    },
    pools: () => [POOL],
  };
  const server = createServer((req, res) => {
    if (req.headers['x-test-peer'])
      Object.defineProperty(req, 'socket', { value: { remoteAddress: req.headers['x-test-peer'] } });
    void handleControl(req, res, api);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, faults, minted };
}

void test('the client drives counters, faults, provider tokens and pools', async (t) => {
  const { endpoint, faults, minted } = await start(t);
  const c = new EmulatorControlClient(endpoint);
  await faults.apply('GetId', Date.now());
  await faults.apply('GetId', Date.now());
  assert.deepEqual(await c.counters(), { GetId: 2 });
  await c.resetCounters();
  assert.deepEqual(await c.counters(), {});

  await c.setFault('GetId', { error: 'InternalErrorException', count: 1 });
  assert.deepEqual(faults.get('GetId'), { error: 'InternalErrorException', count: 1 });
  assert.equal((await faults.apply('GetId', Date.now()))?.status, 500);
  await c.setFault('*', { throttleRps: 5 });
  assert.deepEqual(faults.get('*'), { throttleRps: 5 });
  await c.setFault('GetId', null);
  assert.equal(faults.get('GetId'), undefined);
  await c.clearFaults();
  assert.equal(faults.get('*'), undefined);

  assert.equal(await c.mintProviderToken('graph.facebook.com', 'fb-1', { expiresInSeconds: 60 }), 'token-for-fb-1');
  assert.deepEqual(minted, [{ provider: 'graph.facebook.com', subject: 'fb-1', opts: { expiresInSeconds: 60 } }]);
  assert.deepEqual(await c.pools(), [POOL]);
});

void test('bad fault specs and provider requests are 400 JSON errors', async (t) => {
  const { endpoint } = await start(t);
  const c = new EmulatorControlClient(endpoint);
  const expectError = async (p: Promise<unknown>, status: number, type: string, msg: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof EmulatorControlError);
      assert.equal(e.status, status);
      assert.equal(e.type, type);
      assert.match(e.message, msg);
      return true;
    });
  };
  await expectError(
    c.setFault('GetId', { error: 'NoSuchException' }),
    400,
    'ValidationException',
    /fault\.error must be one of/,
  );
  await expectError(c.setFault('GetId', { latencyMs: -1 }), 400, 'ValidationException', /latencyMs/);
  await expectError(c.setFault('GetId', { bogus: 1 } as never), 400, 'ValidationException', /bogus/);
  await expectError(c.setFault('Get Id', {}), 400, 'ValidationException', /operation name/);
  await expectError(
    c.mintProviderToken('accounts.google.com', 'g-1'),
    400,
    'InvalidParameterException',
    /No pool supports/,
  );
  await expectError(c.mintProviderToken('graph.facebook.com', ''), 400, 'ValidationException', /subject/);
});

void test('raw HTTP: malformed JSON, body limit, unknown route, wrong method', async (t) => {
  const { endpoint } = await start(t);
  const call = async (method: string, path: string, body?: string): Promise<[number, unknown]> => {
    const headers = { 'content-type': 'application/json' };
    const res = await fetch(
      `${endpoint}/__emulator/${path}`,
      body === undefined ? { method, headers } : { method, body, headers },
    );
    const text = await res.text();
    if (res.status !== 204) assert.equal(res.headers.get('content-type'), 'application/json');
    return [res.status, text ? JSON.parse(text) : undefined];
  };
  assert.deepEqual(await call('PUT', 'faults/GetId', '{nope'), [
    400,
    { __type: 'SerializationException', message: 'The body is not valid JSON.' },
  ]);
  const [status, body] = await call('PUT', 'faults/GetId', JSON.stringify({ latencyMs: 1, pad: 'x'.repeat(20_000) }));
  assert.equal(status, 413);
  assert.equal((body as { __type: string }).__type, 'PayloadTooLarge');
  assert.equal((await call('GET', 'nothing-here'))[0], 404);
  assert.equal((await call('POST', 'counters'))[0], 405);
  assert.equal((await call('GET', 'faults/GetId'))[0], 405);
  assert.deepEqual(await call('PUT', 'faults/%2A', '{"latencyMs":0}'), [
    200,
    { operation: '*', fault: { latencyMs: 0 } },
  ]);
  assert.deepEqual(await call('DELETE', 'faults'), [204, undefined]);
});

void test('refuses peers that are not loopback with 403', async (t) => {
  const { endpoint, faults } = await start(t);
  faults.set('GetId', { latencyMs: 1 });
  const res = await fetch(`${endpoint}/__emulator/faults`, {
    method: 'DELETE',
    headers: { 'x-test-peer': '10.0.0.7' },
  });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), {
    __type: 'AccessDeniedException',
    message: 'The control endpoint only answers loopback clients.',
  });
  assert.deepEqual(faults.get('GetId'), { latencyMs: 1 }, 'nothing changed');
  const ok = await fetch(`${endpoint}/__emulator/counters`, { headers: { 'x-test-peer': '::ffff:127.0.0.1' } });
  assert.equal(ok.status, 200);
});

void test('isLoopback', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
  for (const a of [undefined, '', '10.0.0.1', '::ffff:10.0.0.1', '::', '1.127.0.0', 'fe80::1'])
    assert.equal(isLoopback(a), false, String(a));
});

void test('isLoopbackHost', () => {
  for (const h of [
    'localhost',
    'localhost:8080',
    'LOCALHOST',
    'app.localhost:1',
    '127.0.0.1',
    '127.9.9.9:80',
    '[::1]',
    '[::1]:9000',
  ])
    assert.equal(isLoopbackHost(h), true, h);
  for (const h of [
    undefined,
    '',
    'attacker.example',
    'localhost.attacker.example',
    '127.0.0.1.nip.io',
    '127.0.0.256',
    '10.0.0.1:80',
    '[::2]:80',
    '[::1]x',
    'localhost:80x',
    '0.0.0.0',
  ])
    assert.equal(isLoopbackHost(h), false, String(h));
});
