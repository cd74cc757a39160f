import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { CognitoIdentityClient, ListIdentityPoolsCommand } from '@aws-sdk/client-cognito-identity';
import {
  checkSigV4,
  parseAuthorization,
  verifySignature,
  type SignedRequest,
} from '../../../../src/emulator/http/sigv4.js';

const KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = Date.UTC(2026, 10, 22, 4, 30, 0);

function toBuffer(v: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(v);
}

/** node:crypto behind smithy's Checksum interface (the SDK's own sha256 is not a direct dependency). */
class Sha256 {
  readonly #h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | Uint8Array): void {
    this.#h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.#h.digest());
  }
  reset(): void {
    /* one-shot */
  }
}

async function signed(
  opts: {
    body?: string;
    path?: string;
    query?: Record<string, string>;
    at?: number;
    region?: string;
    service?: string;
    secret?: string;
  } = {},
): Promise<SignedRequest> {
  const body = opts.body ?? '{"MaxResults":10}';
  const signer = new SignatureV4({
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: opts.secret ?? KEY.secretAccessKey },
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'cognito-identity',
    sha256: Sha256,
  });
  const path = opts.path ?? '/';
  const out = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4567,
      path,
      query: opts.query ?? {},
      headers: {
        host: '127.0.0.1:4567',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityService.ListIdentityPools',
        'x-amz-user-agent': 'aws-sdk-js/3  spaced   value ',
      },
      body,
    },
    { signingDate: new Date(opts.at ?? NOW) },
  );
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(out.headers)) headers[k.toLowerCase()] = v;
  const qs = new URLSearchParams(opts.query ?? {}).toString();
  return { method: 'POST', url: qs ? `${path}?${qs}` : path, headers, body: Buffer.from(body) };
}

function typeOf(r: ReturnType<typeof checkSigV4>): string {
  return r.ok ? 'ok' : r.type;
}
function messageOf(r: ReturnType<typeof checkSigV4>): string {
  return r.ok ? '' : r.message;
}

void test("accepts a request signed by @smithy/signature-v4 in strict mode, and reads its scope's region", async () => {
  const req = await signed();
  assert.deepEqual(checkSigV4(req, [{ accessKeyId: 'other', secretAccessKey: 'x' }, KEY], NOW), {
    ok: true,
    region: 'us-east-1',
  });
  assert.deepEqual(checkSigV4(req, undefined, NOW), { ok: true, region: 'us-east-1' });
  assert.deepEqual(checkSigV4(await signed({ region: 'eu-central-1' }), [KEY], NOW), {
    ok: true,
    region: 'eu-central-1',
  });
});

void test('accepts signed query strings and odd paths', async () => {
  const req = await signed({ path: '/a/./b/../c%20d', query: { b: '2', a: 'x y', 'c*': "it's" } });
  req.url = '/a/./b/../c%20d?b=2&a=x%20y&c%2A=it%27s';
  assert.equal(typeOf(checkSigV4(req, [KEY], NOW)), 'ok');
});

void test('refuses a tampered body, header, method or query with InvalidSignatureException', async () => {
  const tampered: ((r: SignedRequest) => void)[] = [
    (r) => (r.body = Buffer.from('{"MaxResults":60}')),
    (r) => (r.headers['x-amz-target'] = 'AWSCognitoIdentityService.DeleteIdentityPool'),
    (r) => (r.method = 'PUT'),
    (r) => (r.url = '/?x=1'),
    (r) =>
      (r.headers.authorization = String(r.headers.authorization).replace(
        /Signature=(.)/,
        (_m, c: string) => `Signature=${c === 'a' ? 'b' : 'a'}`,
      )),
  ];
  for (const change of tampered) {
    const req = await signed();
    change(req);
    const r = checkSigV4(req, [KEY], NOW);
    assert.equal(typeOf(r), 'InvalidSignatureException');
    assert.match(messageOf(r), /^The request signature we calculated does not match the signature you provided\./);
    assert.match(messageOf(r), /The Canonical String for this request should have been\n'POST|PUT/);
    // Without strict mode the signature is not checked.
    assert.equal(typeOf(checkSigV4(req, undefined, NOW)), 'ok');
  }
});

void test('refuses the wrong secret and an unknown access key', async () => {
  assert.equal(typeOf(checkSigV4(await signed({ secret: 'nope' }), [KEY], NOW)), 'InvalidSignatureException');
  const r = checkSigV4(await signed(), [{ accessKeyId: 'AKIDOTHER', secretAccessKey: KEY.secretAccessKey }], NOW);
  assert.equal(typeOf(r), 'UnrecognizedClientException');
  assert.equal(messageOf(r), 'The security token included in the request is invalid.');
});

void test('refuses a signing time more than 5 minutes away, in both directions', async () => {
  const old = checkSigV4(await signed({ at: NOW - 6 * 60_000 }), [KEY], NOW);
  assert.equal(typeOf(old), 'InvalidSignatureException');
  assert.equal(
    messageOf(old),
    'Signature expired: 20261122T042400Z is now earlier than 20261122T042500Z (20261122T043000Z - 5 min.)',
  );
  const future = checkSigV4(await signed({ at: NOW + 6 * 60_000 }), [KEY], NOW);
  assert.equal(typeOf(future), 'InvalidSignatureException');
  assert.match(messageOf(future), /^Signature not yet current: 20261122T043600Z is still later than 20261122T043500Z/);
  assert.equal(typeOf(checkSigV4(await signed({ at: NOW - 4 * 60_000 }), [KEY], NOW)), 'ok');
});

void test('accepts any region in the scope but only the cognito-identity service', async () => {
  assert.equal(typeOf(checkSigV4(await signed({ region: 'eu-west-1' }), [KEY], NOW)), 'ok');
  assert.equal(typeOf(checkSigV4(await signed({ service: 'sts' }), [KEY], NOW)), 'MissingAuthenticationTokenException');
});

void test('a missing or malformed Authorization header is MissingAuthenticationTokenException', async () => {
  const base = await signed();
  const auth = String(base.headers.authorization);
  const bad = [
    undefined,
    '',
    'Bearer abc',
    auth.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1'),
    auth.replace(/Credential=[^,]+,/, ''),
    auth.replace(/SignedHeaders=[^,]+,/, ''),
    auth.replace(/Signature=\w+/, 'Signature=xyz'),
    auth.replace(/\/\d{8}\//, '/2026-11-22/'),
    auth.replace('aws4_request', 'aws5_request'),
    'AWS4-HMAC-SHA256 garbage',
  ];
  for (const value of bad) {
    const headers = { ...base.headers, authorization: value };
    for (const strict of [undefined, [KEY]]) {
      const r = checkSigV4({ ...base, headers }, strict, NOW);
      assert.equal(typeOf(r), 'MissingAuthenticationTokenException', String(value));
      assert.equal(messageOf(r), 'Missing Authentication Token');
    }
  }
});

void test('strict mode needs host signed and a date header', async () => {
  const base = await signed();
  const noDate = { ...base, headers: { ...base.headers } };
  delete noDate.headers['x-amz-date'];
  assert.equal(typeOf(checkSigV4(noDate, [KEY], NOW)), 'IncompleteSignatureException');
  const noHost = {
    ...base,
    headers: { ...base.headers, authorization: String(base.headers.authorization).replace('host;', '') },
  };
  assert.equal(typeOf(checkSigV4(noHost, [KEY], NOW)), 'IncompleteSignatureException');
  const badDate = { ...base, headers: { ...base.headers, 'x-amz-date': 'yesterday' } };
  assert.equal(typeOf(checkSigV4(badDate, [KEY], NOW)), 'IncompleteSignatureException');
});

void test('the real SDK client passes strict checking over HTTP; a wrong secret fails', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = checkSigV4(
        { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) },
        [KEY],
        Date.now(),
      );
      seen.push(r.ok ? 'ok' : r.type);
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (r.ok) {
        res.end('{"IdentityPools":[]}');
      } else {
        res.statusCode = 400;
        res.setHeader('x-amzn-errortype', r.type);
        res.end(JSON.stringify({ __type: r.type, message: r.message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const good = new CognitoIdentityClient({ endpoint, region: 'us-east-1', credentials: KEY, maxAttempts: 1 });
    const out = await good.send(new ListIdentityPoolsCommand({ MaxResults: 10 }));
    assert.deepEqual(out.IdentityPools, []);
    const bad = new CognitoIdentityClient({
      endpoint,
      region: 'us-east-1',
      credentials: { ...KEY, secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    await assert.rejects(bad.send(new ListIdentityPoolsCommand({ MaxResults: 10 })), {
      name: 'InvalidSignatureException',
    });
    good.destroy();
    bad.destroy();
    assert.deepEqual(seen, ['ok', 'InvalidSignatureException']);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

void test('shows the canonical request of a mismatch with the session token redacted', async () => {
  const token = 'FwoGZXIvYXdzEXAMPLEsessiontokenvalue/+=';
  const signer = new SignatureV4({
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'wrong', sessionToken: token },
    region: 'us-east-1',
    service: 'sts',
    sha256: Sha256,
  });
  const out = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/',
      headers: { host: '127.0.0.1', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    },
    { signingDate: new Date(NOW) },
  );
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(out.headers)) headers[k.toLowerCase()] = v;
  const req = { method: 'POST', url: '/', headers, body: Buffer.from(String(out.body)) };
  const auth = parseAuthorization(String(headers.authorization));
  assert.ok(auth !== undefined, 'the header parses');
  assert.deepEqual(verifySignature(req, auth, 'wrong', NOW), { ok: true });
  const r = verifySignature(req, auth, KEY.secretAccessKey, NOW);
  assert.equal(r.ok ? 'ok' : r.kind, 'mismatch');
  const message = r.ok ? '' : r.message;
  assert.ok(message.includes('x-amz-security-token:<redacted>\n'), message);
  assert.ok(!message.includes(token), 'the session token is not in the message');
});
