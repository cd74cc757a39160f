import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { DEV_PROVIDER } from './emulator-fixture.js';

const JSON_11 = 'application/x-amz-json-1.1';

void describe('emulator: AWS JSON 1.1 protocol', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ port: 0, seed: [{ name: 'seeded', developerProviderName: DEV_PROVIDER }] });
  });
  after(async () => {
    await emu.stop();
  });

  const call = (target: string | undefined, body: string, headers: Record<string, string> = {}) =>
    fetch(emu.endpoint, {
      method: 'POST',
      headers: {
        'content-type': JSON_11,
        ...(target === undefined ? {} : { 'x-amz-target': `AWSCognitoIdentityService.${target}` }),
        ...headers,
      },
      body,
    });

  async function expectError(res: Response, status: number, type: string): Promise<string> {
    assert.equal(res.status, status);
    assert.equal(res.headers.get('content-type'), JSON_11);
    assert.equal(res.headers.get('x-amzn-errortype'), type);
    assert.ok(res.headers.get('x-amzn-requestid'));
    const body = (await res.json()) as { __type: string; message: string };
    assert.equal(body.__type, type);
    assert.equal(typeof body.message, 'string');
    return body.message;
  }

  void it('answers a successful call with the JSON 1.1 content type and a request id', async () => {
    const res = await call('GetId', JSON.stringify({ IdentityPoolId: emu.pools[0]!.identityPoolId }));
    assert.equal(res.status, 400); // the seeded pool does not allow guests
    const ok = await call('DescribeIdentity', '{}', { authorization: 'x' });
    await expectError(ok, 400, 'MissingAuthenticationTokenException');
    const client = new CognitoIdentity({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      const out = await client.describeIdentityPool({ IdentityPoolId: emu.pools[0]!.identityPoolId });
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
    } finally {
      client.destroy();
    }
  });

  void it('answers an unknown or missing operation with UnknownOperationException', async () => {
    await expectError(await call('Nope', '{}'), 400, 'UnknownOperationException');
    await expectError(await call(undefined, '{}'), 400, 'UnknownOperationException');
    const other = await fetch(emu.endpoint, {
      method: 'POST',
      headers: { 'content-type': JSON_11, 'x-amz-target': 'DynamoDB_20120810.ListTables' },
      body: '{}',
    });
    await expectError(other, 400, 'UnknownOperationException');
  });

  void it('refuses a wrong content type, malformed JSON and wrong member types with SerializationException', async () => {
    await expectError(await call('GetId', '{}', { 'content-type': 'application/json' }), 400, 'SerializationException');
    await expectError(await call('GetId', '{"IdentityPoolId":'), 400, 'SerializationException');
    await expectError(await call('GetId', '[1,2]'), 400, 'SerializationException');
    await expectError(await call('GetId', '{"IdentityPoolId": 42}'), 400, 'SerializationException');
  });

  void it('answers validation failures with ValidationException and the service message', async () => {
    const msg = await expectError(
      await call('GetId', JSON.stringify({ IdentityPoolId: 'us-east-1_abc' })),
      400,
      'ValidationException',
    );
    assert.equal(
      msg,
      "1 validation error detected: Value 'us-east-1_abc' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
    );
    const two = await expectError(await call('GetId', '{}'), 400, 'ValidationException');
    assert.equal(
      two,
      "1 validation error detected: Value null at 'identityPoolId' failed to satisfy constraint: Member must not be null",
    );
  });

  void it('answers GET /, other paths and a huge body with JSON errors, never HTML', async () => {
    const get = await fetch(`${emu.endpoint}/`);
    await expectError(get, 400, 'UnknownOperationException');
    const other = await fetch(`${emu.endpoint}/some/path`);
    await expectError(other, 404, 'UnknownOperationException');
    const huge = await call('GetId', `{"IdentityPoolId":"${'a'.repeat(2 * 1024 * 1024)}"}`);
    await expectError(huge, 413, 'RequestEntityTooLargeException');
  });

  void it('survives a chunked body larger than the limit without Content-Length', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        emu.endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': JSON_11,
            'x-amz-target': 'AWSCognitoIdentityService.GetId',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024, 'a');
      for (let i = 0; i < 6; i++) req.write(chunk);
      req.end();
    });
    assert.equal(status, 413);
    // Still serving.
    const res = await fetch(`${emu.endpoint}/.well-known/jwks_uri`);
    assert.equal(res.status, 200);
  });

  void it('serves the JWKS and the OpenID discovery document', async () => {
    for (const path of ['/.well-known/jwks_uri', '/.well-known/openid-configuration']) {
      const res = await fetch(`${emu.endpoint}${path}`);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600', path);
      await res.arrayBuffer();
    }
    const jwks = (await (await fetch(`${emu.endpoint}/.well-known/jwks_uri`)).json()) as {
      keys: { kid: string; alg: string; kty: string }[];
    };
    assert.ok(jwks.keys.length >= 1);
    assert.match(jwks.keys[0]!.kid, /^us-east-1-\d+$/);
    assert.equal(jwks.keys[0]!.alg, 'RS512');
    assert.equal(jwks.keys[0]!.kty, 'RSA');
    const conf = (await (await fetch(`${emu.endpoint}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(conf.issuer, 'https://cognito-identity.amazonaws.com');
    assert.equal(conf.jwks_uri, `${emu.endpoint}/.well-known/jwks_uri`);
    assert.deepEqual(conf.id_token_signing_alg_values_supported, ['RS512']);
  });

  void it('routes /__emulator/ to the control endpoint', async () => {
    const res = await fetch(`${emu.endpoint}/__emulator/counters`);
    assert.equal(res.status, 200);
    const counters = (await res.json()) as Record<string, unknown>;
    assert.equal(typeof counters, 'object');
  });
});

void describe('emulator: options and lifecycle', () => {
  void it('refuses bad options with a TypeError', async () => {
    await assert.rejects(startEmulator({ port: -1 }), TypeError);
    await assert.rejects(startEmulator({ region: 'mars' }), TypeError);
    await assert.rejects(startEmulator({ seed: [{ name: 'bad/name' }] }), TypeError);
    await assert.rejects(startEmulator({ stateLogBytes: -1 }), /stateLogBytes must be a non-negative integer/);
  });

  void it('uses the region for identity ids and the token kid', async () => {
    const emu = await startEmulator({
      region: 'eu-west-2',
      seed: [{ name: 'p', developerProviderName: DEV_PROVIDER }],
    });
    const client = new CognitoIdentity({
      endpoint: emu.endpoint,
      region: 'eu-west-2',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      assert.equal(emu.region, 'eu-west-2');
      assert.match(emu.pools[0]!.identityPoolId, /^eu-west-2:/);
      const t = await client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: emu.pools[0]!.identityPoolId,
        Logins: { [DEV_PROVIDER]: 'u' },
      });
      assert.match(t.IdentityId!, /^eu-west-2:/);
      const header = JSON.parse(Buffer.from(t.Token!.split('.')[0]!, 'base64url').toString()) as { kid: string };
      assert.match(header.kid, /^eu-west-2-\d+$/);
    } finally {
      client.destroy();
      await emu.stop();
    }
  });

  void it('uses the China Logins key and issuer in cn regions', async () => {
    const emu = await startEmulator({
      region: 'cn-north-1',
      seed: [{ name: 'p', developerProviderName: DEV_PROVIDER }],
    });
    const client = new CognitoIdentity({
      endpoint: emu.endpoint,
      region: 'cn-north-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    try {
      const t = await client.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: emu.pools[0]!.identityPoolId,
        Logins: { [DEV_PROVIDER]: 'u' },
      });
      const claims = JSON.parse(Buffer.from(t.Token!.split('.')[1]!, 'base64url').toString()) as { iss: string };
      assert.equal(claims.iss, 'https://cognito-identity.cn-north-1.amazonaws.com.cn');
      const creds = await client.getCredentialsForIdentity({
        IdentityId: t.IdentityId!,
        Logins: { 'cognito-identity.cn-north-1.amazonaws.com.cn': t.Token! },
      });
      assert.match(creds.Credentials!.AccessKeyId!, /^ASIA/);
      await assert.rejects(
        client.getCredentialsForIdentity({
          IdentityId: t.IdentityId!,
          Logins: { 'cognito-identity.amazonaws.com': t.Token! },
        }),
        { name: 'NotAuthorizedException' },
      );
      const conf = (await (await fetch(`${emu.endpoint}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
      };
      assert.equal(conf.issuer, 'https://cognito-identity.cn-north-1.amazonaws.com.cn');
    } finally {
      client.destroy();
      await emu.stop();
    }
  });

  void it('does not serve the control endpoint when disabled', async () => {
    const emu = await startEmulator({ controlEndpoint: false });
    try {
      const res = await fetch(`${emu.endpoint}/__emulator/counters`);
      assert.equal(res.status, 404);
    } finally {
      await emu.stop();
    }
  });

  void it('stop() closes kept-alive connections and is idempotent', async () => {
    const emu = await startEmulator({ seed: [{ name: 'p', developerProviderName: DEV_PROVIDER }] });
    const client = new CognitoIdentity({
      endpoint: emu.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    await client.describeIdentityPool({ IdentityPoolId: emu.pools[0]!.identityPoolId });
    // A request whose body never ends keeps its connection busy: server.close() alone would wait on
    // it for minutes, so stop() returning at all (within the test timeout) shows it closes connections.
    const unfinished = request(emu.endpoint, { method: 'POST', agent: false, headers: { 'content-length': '100' } });
    const hungUp = new Promise<Error>((resolve) => unfinished.on('error', resolve));
    unfinished.write('{"partial":');
    await new Promise((resolve) => unfinished.on('socket', (socket) => socket.on('connect', resolve)));
    await Promise.all([emu.stop(), emu.stop()]);
    await emu.stop();
    assert.match((await hungUp).message, /socket hang up|ECONNRESET/);
    await assert.rejects(fetch(`${emu.endpoint}/.well-known/jwks_uri`));
    client.destroy();
  });

  void it('verifies SigV4 signatures in strict mode', async () => {
    const emu = await startEmulator({
      strictSigV4: [{ accessKeyId: 'AKIDSTRICT', secretAccessKey: 'right-secret' }],
      seed: [{ name: 'p', developerProviderName: DEV_PROVIDER }],
    });
    const make = (accessKeyId: string, secretAccessKey: string) =>
      new CognitoIdentity({
        endpoint: emu.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId, secretAccessKey },
        maxAttempts: 1,
      });
    const good = make('AKIDSTRICT', 'right-secret');
    const badSecret = make('AKIDSTRICT', 'wrong-secret');
    const unknown = make('AKIDOTHER', 'right-secret');
    try {
      const pool = emu.pools[0]!.identityPoolId;
      await good.describeIdentityPool({ IdentityPoolId: pool });
      await assert.rejects(badSecret.describeIdentityPool({ IdentityPoolId: pool }), {
        name: 'InvalidSignatureException',
      });
      await assert.rejects(unknown.describeIdentityPool({ IdentityPoolId: pool }), {
        name: 'UnrecognizedClientException',
      });
    } finally {
      for (const c of [good, badSecret, unknown]) c.destroy();
      await emu.stop();
    }
  });
});
