// The example app's POST /sts: the page's signed STS request, forwarded to the emulator as it was
// signed (body, signing headers, the emulator's Host) and nothing more (no cookie, no credentials).
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../examples/express-app/app.js';
import { startAppStack } from '../helpers/app-stack.js';
import { assertProblem } from '../helpers/problem-assert.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
type SignRequest = (input: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: Credentials;
}) => Promise<Record<string, string>>;

// A page module without types, imported by URL; `SignRequest` is its contract.
const moduleUrl = new URL('../../examples/express-app/public/sts-proof.mjs', import.meta.url).href;
const { signRequest } = (await import(moduleUrl)) as { signRequest: SignRequest };

const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const FORM = 'application/x-www-form-urlencoded';

function signFor(host: string, region: string, credentials: Credentials): Promise<Record<string, string>> {
  return signRequest({
    method: 'POST',
    path: '/',
    headers: { host, 'content-type': FORM },
    body: BODY,
    region,
    service: 'sts',
    credentials,
  });
}

const sessionSecret = 'sts-proxy-test-session-secret';

void describe('example app POST /sts', () => {
  void it("tells the page the emulator's host and region, and the emulator verifies the page's signature", async () => {
    const stack = await startAppStack();
    try {
      const config = await request(stack.app).get('/demo/config');
      const emulator = stack.emulator();
      const host = new URL(emulator.endpoint).host;
      assert.deepEqual((config.body as { sts: unknown }).sts, { url: '/sts', host, region: emulator.region });

      const agent = request.agent(stack.app);
      assert.equal((await agent.post('/login').send({ username: 'alice', password: 'alice-demo-pass' })).status, 200);
      const creds = await stack.broker.getCredentials('user-alice');
      const signed = await signFor(host, emulator.region, creds);
      const ok = await agent.post('/sts').set('Content-Type', FORM).set(signed).send(BODY);
      assert.equal(ok.status, 200, ok.text);
      assert.match(ok.text, /<Arn>arn:aws:sts::\d{12}:assumed-role\/[^<]+<\/Arn>/);
      assert.equal(ok.headers['cache-control'], 'no-store');

      // Signed for the app's own host instead of the emulator's: refused, the proxy does not re-sign.
      const wrongHost = await signFor('127.0.0.1:1', emulator.region, creds);
      const refused = await agent.post('/sts').set('Content-Type', FORM).set(wrongHost).send(BODY);
      assert.equal(refused.status, 403);
      assert.match(refused.text, /<Code>SignatureDoesNotMatch<\/Code>/);
      assert.equal(refused.text.includes(creds.sessionToken), false);
      assert.equal(stack.logText().includes(creds.sessionToken), false, 'no session token in the app log');
    } finally {
      await stack.stop();
    }
  });

  void it('forwards only the body and the signing headers, to / with the target host', async () => {
    const seen: { url: string | undefined; headers: IncomingHttpHeaders; body: string }[] = [];
    const upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(403, { 'content-type': 'text/xml' }).end('<ErrorResponse/>');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const stack = await startAppStack({ app: { sts: { endpoint: `http://${host}`, region: 'eu-west-1' } } });
    try {
      const res = await request(stack.app)
        .post('/sts')
        .set('Content-Type', FORM)
        .set('Cookie', 'demo.sid=s%3Aabc')
        .set('Authorization', 'AWS4-HMAC-SHA256 Credential=AKID/20261201/eu-west-1/sts/aws4_request, x')
        .set('X-Amz-Date', '20261201T213000Z')
        .set('X-Amz-Security-Token', 'tok')
        .set('X-Forwarded-For', '10.0.0.1')
        .send(BODY);
      assert.equal(res.status, 403);
      assert.equal(res.text, '<ErrorResponse/>');
      assert.equal(seen.length, 1);
      const got = seen[0]!;
      assert.equal(got.url, '/');
      assert.equal(got.body, BODY);
      assert.equal(got.headers.host, host);
      assert.equal(got.headers['content-type'], FORM);
      assert.equal(got.headers['x-amz-date'], '20261201T213000Z');
      assert.equal(got.headers['x-amz-security-token'], 'tok');
      assert.match(got.headers.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKID\//);
      assert.equal(got.headers.cookie, undefined);
      assert.equal(got.headers['x-forwarded-for'], undefined);
    } finally {
      await stack.stop();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  void it('answers 502 when the STS endpoint cannot be reached', async () => {
    const stack = await startAppStack();
    const endpoint = stack.emulator().endpoint;
    await stack.stopEmulator();
    try {
      const app = createApp({ broker: stack.broker, sessionSecret, sts: { endpoint, region: 'us-east-1' } });
      const res = await request(app).post('/sts').set('Content-Type', FORM).send(BODY);
      assertProblem(res, 502, 'ERR_COGNITO_UNAVAILABLE');
    } finally {
      await stack.stop();
    }
  });

  void it('has no /sts and tells the page so without the option (real Cognito)', async () => {
    const stack = await startAppStack();
    try {
      const app = createApp({ broker: stack.broker, sessionSecret });
      assert.equal(((await request(app).get('/demo/config')).body as { sts: unknown }).sts, null);
      assertProblem(await request(app).post('/sts').set('Content-Type', FORM).send(BODY), 404, 'ERR_NOT_FOUND');
    } finally {
      await stack.stop();
    }
  });

  void it('refuses a bad sts option with a TypeError naming it', async () => {
    const stack = await startAppStack();
    try {
      for (const [endpoint, region, name] of [
        ['ftp://127.0.0.1:1', 'us-east-1', /sts\.endpoint/],
        ['http://127.0.0.1:1/path', 'us-east-1', /sts\.endpoint/],
        ['not a url', 'us-east-1', /sts\.endpoint/],
        ['http://127.0.0.1:1', 'US East', /sts\.region/],
      ] as const) {
        assert.throws(() => createApp({ broker: stack.broker, sessionSecret, sts: { endpoint, region } }), {
          name: 'TypeError',
          message: name,
        });
      }
    } finally {
      await stack.stop();
    }
  });
});
