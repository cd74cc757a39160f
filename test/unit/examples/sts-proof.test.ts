// The example page's SigV4 signer (examples/express-app/public/sts-proof.mjs) on Node's WebCrypto:
// an AWS test vector, the SDK's own signer, and the emulator's verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseAuthorization, verifySignature } from '../../../src/emulator/http/sigv4.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
interface SignerModule {
  signRequest: (input: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string;
    region: string;
    service: string;
    credentials: Credentials;
    date?: Date;
  }) => Promise<Record<string, string>>;
  getCallerIdentity: (input: {
    credentials: Credentials;
    url: string;
    host: string;
    region: string;
    fetch: (url: string, init: RequestInit) => Promise<Response>;
    date?: Date;
  }) => Promise<{ arn: string; account?: string; userId?: string }>;
}

// A page module without types: imported by URL so TypeScript does not resolve it; the interface above
// is its contract.
const moduleUrl = new URL('../../../examples/express-app/public/sts-proof.mjs', import.meta.url).href;
const { signRequest, getCallerIdentity } = (await import(moduleUrl)) as SignerModule;

const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SESSION = { ...EXAMPLE, sessionToken: 'FQoGZXIvYXdzEXAMPLE/session+token==' };
const AT = new Date(Date.UTC(2026, 11, 1, 21, 30, 0));
const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const FORM = 'application/x-www-form-urlencoded';

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

function stsHeaders(signed: Record<string, string>, host: string): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = { host, 'content-type': FORM };
  for (const [k, v] of Object.entries(signed)) headers[k.toLowerCase()] = v;
  return headers;
}

void test('signs the AWS SigV4 test suite vector get-vanilla', async () => {
  const signed = await signRequest({
    method: 'GET',
    path: '/',
    headers: { Host: 'example.amazonaws.com' },
    body: '',
    region: 'us-east-1',
    service: 'service',
    credentials: EXAMPLE,
    date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  });
  assert.equal(
    signed.Authorization,
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  );
  assert.equal(signed['X-Amz-Date'], '20150830T123600Z');
  assert.equal(signed['X-Amz-Security-Token'], undefined);
});

void test('signs an STS GetCallerIdentity with a session token exactly as @smithy/signature-v4 does', async () => {
  const host = '127.0.0.1:4566';
  const ours = await signRequest({
    method: 'POST',
    path: '/',
    headers: { host, 'content-type': FORM },
    body: BODY,
    region: 'eu-west-1',
    service: 'sts',
    credentials: SESSION,
    date: AT,
  });
  // applyChecksum off: the SDK's STS client signs no x-amz-content-sha256 either.
  const signer = new SignatureV4({
    credentials: SESSION,
    region: 'eu-west-1',
    service: 'sts',
    sha256: Sha256,
    applyChecksum: false,
  });
  const sdk = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: '/',
      query: {},
      headers: { host, 'content-type': FORM },
      body: BODY,
    },
    { signingDate: AT },
  );
  assert.equal(ours.Authorization, sdk.headers.authorization);
  assert.equal(ours['X-Amz-Date'], sdk.headers['x-amz-date']);
  assert.equal(ours['X-Amz-Security-Token'], SESSION.sessionToken);
});

void test("the emulator's verifier accepts the signature, and refuses it for another secret or host", async () => {
  const host = '127.0.0.1:4566';
  const sign = (credentials: Credentials) =>
    signRequest({
      method: 'POST',
      path: '/',
      headers: { host, 'content-type': FORM },
      body: BODY,
      region: 'us-east-1',
      service: 'sts',
      credentials,
      date: AT,
    });
  const check = (signed: Record<string, string>, secret: string, atHost = host) => {
    const auth = parseAuthorization(signed.Authorization ?? '');
    assert.ok(auth);
    const req = { method: 'POST', url: '/', headers: stsHeaders(signed, atHost), body: Buffer.from(BODY) };
    return verifySignature(req, auth, secret, AT.getTime());
  };
  const good = await sign(SESSION);
  assert.deepEqual(check(good, SESSION.secretAccessKey), { ok: true });
  assert.equal(check(await sign({ ...SESSION, secretAccessKey: 'tampered' }), SESSION.secretAccessKey).ok, false);
  assert.equal(check(good, SESSION.secretAccessKey, '127.0.0.1:3000').ok, false);
});

void test('getCallerIdentity posts the signed form to the proxy path and reads the ARN', async () => {
  const seen: { url: string; init: RequestInit }[] = [];
  const arn = 'arn:aws:sts::123456789012:assumed-role/Cognito_demoAuth_Role/CognitoIdentityCredentials';
  const out = await getCallerIdentity({
    credentials: SESSION,
    url: '/sts',
    host: '127.0.0.1:4566',
    region: 'us-east-1',
    date: AT,
    fetch: (url, init) => {
      seen.push({ url, init });
      const xml =
        '<GetCallerIdentityResponse><GetCallerIdentityResult>' +
        `<Arn>${arn}</Arn><UserId>AROAEXAMPLE:CognitoIdentityCredentials</UserId><Account>123456789012</Account>` +
        '</GetCallerIdentityResult></GetCallerIdentityResponse>';
      return Promise.resolve(new Response(xml, { status: 200, headers: { 'content-type': 'text/xml' } }));
    },
  });
  assert.deepEqual(out, { arn, account: '123456789012', userId: 'AROAEXAMPLE:CognitoIdentityCredentials' });
  assert.equal(seen.length, 1);
  const call = seen.at(0);
  assert.ok(call);
  assert.equal(call.url, '/sts');
  assert.equal(call.init.body, BODY);
  assert.equal(call.init.credentials, 'omit', 'no cookie goes with a signed request');
  const headers = call.init.headers as Record<string, string>;
  assert.match(headers.Authorization ?? '', /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/);
});

void test('getCallerIdentity rejects with STS error code and a first line free of secrets', async () => {
  const xml =
    '<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>' +
    `<Message>The request signature we calculated does not match (${SESSION.secretAccessKey} ${SESSION.sessionToken}).\n\nThe Canonical String…</Message>` +
    '</Error></ErrorResponse>';
  await assert.rejects(
    getCallerIdentity({
      credentials: SESSION,
      url: '/sts',
      host: '127.0.0.1:4566',
      region: 'us-east-1',
      fetch: () => Promise.resolve(new Response(xml, { status: 403 })),
    }),
    (err: Error & { code?: string; status?: number }) => {
      assert.equal(err.code, 'SignatureDoesNotMatch');
      assert.equal(err.status, 403);
      assert.equal(err.message, 'The request signature we calculated does not match (<redacted> <redacted>).');
      return true;
    },
  );
});
