// The control endpoint against what a browser on the same machine can send: a rebound host name and
// cross-site "simple" requests (text/plain, no content type) are refused; loopback names still work.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { rejection, setup, type Fixture } from './emulator-fixture.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A raw request to the emulator with exactly these headers (fetch would not send a foreign Host). */
function raw(
  endpoint: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers, setHost: false, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

void describe('emulator: the control endpoint refuses rebound hosts and cross-site bodies', () => {
  let f: Fixture;
  let host: string;
  before(async () => {
    f = await setup({
      seed: [{ name: 'control', developerProviderName: 'login.control', supportedLoginProviders: { fb: 'app' } }],
    });
    host = new URL(f.emu.endpoint).host;
  });
  after(async () => {
    await f.stop();
  });

  void it('refuses a Host that is not a loopback name or address (DNS rebinding)', async () => {
    const port = new URL(f.emu.endpoint).port;
    for (const bad of [
      `attacker.example:${port}`,
      'attacker.example',
      `127.0.0.1.nip.io:${port}`,
      `10.0.0.1:${port}`,
    ]) {
      const res = await raw(f.emu.endpoint, 'GET', '/__emulator/counters', { host: bad });
      assert.equal(res.status, 403, bad);
      assert.equal(res.body.__type, 'AccessDeniedException', bad);
    }
    // Without a Host, node's HTTP server answers 400 itself.
    const noHost = await raw(f.emu.endpoint, 'GET', '/__emulator/counters', {});
    assert.ok(noHost.status === 400 || noHost.status === 403, String(noHost.status));
    const minted = await raw(
      f.emu.endpoint,
      'POST',
      '/__emulator/provider-token',
      { host: `attacker.example:${port}`, 'content-type': 'application/json' },
      JSON.stringify({ provider: 'fb', subject: 'victim' }),
    );
    assert.equal(minted.status, 403);
    assert.equal(minted.body.token, undefined);
    for (const good of [host, `localhost:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`]) {
      assert.equal((await raw(f.emu.endpoint, 'GET', '/__emulator/counters', { host: good })).status, 200, good);
    }
  });

  void it('refuses a cross-site text/plain POST that would mint a provider token for any subject', async () => {
    const res = await raw(
      f.emu.endpoint,
      'POST',
      '/__emulator/provider-token',
      { host, 'content-type': 'text/plain;charset=UTF-8', origin: 'https://attacker.example' },
      JSON.stringify({ provider: 'fb', subject: 'victim' }),
    );
    assert.equal(res.status, 415);
    assert.equal(res.body.__type, 'UnsupportedMediaTypeException');
    assert.equal(res.body.token, undefined);
    const ok = await raw(
      f.emu.endpoint,
      'POST',
      '/__emulator/provider-token',
      { host, 'content-type': 'application/json' },
      JSON.stringify({ provider: 'fb', subject: 'me' }),
    );
    assert.equal(ok.status, 200);
    assert.equal(typeof ok.body.token, 'string');
  });

  void it('refuses bodies without application/json on every POST and PUT', async () => {
    const pool = f.emu.pools[0]!.identityPoolId;
    const put = await raw(
      f.emu.endpoint,
      'PUT',
      '/__emulator/faults/DescribeIdentityPool',
      { host, 'content-type': 'application/x-www-form-urlencoded' },
      JSON.stringify({ error: 'InternalErrorException' }),
    );
    assert.equal(put.status, 415);
    // The fault was not set.
    assert.equal((await f.client.describeIdentityPool({ IdentityPoolId: pool })).IdentityPoolId, pool);
    await f.client.describeIdentityPool({ IdentityPoolId: pool });
    const reset = await raw(f.emu.endpoint, 'POST', '/__emulator/counters/reset', { host });
    assert.equal(reset.status, 415);
    assert.equal(f.emu.counters().DescribeIdentityPool, 2, 'the counters were not reset');
    const json = await raw(
      f.emu.endpoint,
      'PUT',
      '/__emulator/faults/DescribeIdentityPool',
      {
        host,
        'content-type': 'application/json; charset=utf-8',
      },
      JSON.stringify({ error: 'InternalErrorException', count: 1 }),
    );
    assert.equal(json.status, 200);
    assert.equal(
      (await rejection(f.client.describeIdentityPool({ IdentityPoolId: pool }))).name,
      'InternalErrorException',
    );
  });
});
