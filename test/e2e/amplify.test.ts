// The Amplify adapter in a real Chromium: a page bundle of Amplify JS v6 (`@aws-amplify/core`) and
// `cognito-identity-broker/client`, configured with `amplifyCredentialsProvider(fromBroker(…))`,
// answers `fetchAuthSession()` with the broker's credentials and identity id for the logged-in
// user, caches them, refreshes on `forceRefresh`, and gives no credentials once logged out.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';

const CLIENT = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));
const BUNDLE_PATH = '/__amplify-e2e.mjs';

let stack: AppStack;
let server: Server;
let browser: Browser;
let baseUrl: string;
let bundle: string;

/** The page's module: Amplify configured with the adapter, and the calls the test makes. */
async function pageBundle(identityPoolId: string): Promise<string> {
  const result = await build({
    stdin: {
      contents: `
        import { Amplify, fetchAuthSession, clearCredentials } from '@aws-amplify/core';
        import { amplifyCredentialsProvider, fromBroker } from ${JSON.stringify(CLIENT)};
        const credentialsProvider = amplifyCredentialsProvider(fromBroker({ url: '/aws/credentials' }));
        Amplify.configure(
          { Auth: { Cognito: { identityPoolId: ${JSON.stringify(identityPoolId)} } } },
          { Auth: { credentialsProvider } },
        );
        const shown = (s) => ({
          identityId: s.identityId ?? null,
          accessKeyId: s.credentials?.accessKeyId ?? null,
          hasSecret: typeof s.credentials?.secretAccessKey === 'string' && s.credentials.secretAccessKey.length > 0,
          hasSessionToken: typeof s.credentials?.sessionToken === 'string' && s.credentials.sessionToken.length > 0,
          expiresInFuture: s.credentials?.expiration instanceof Date && s.credentials.expiration.getTime() > Date.now(),
        });
        export async function session(options) { return shown(await fetchAuthSession(options)); }
        export async function clear() { await clearCredentials(); }
      `,
      resolveDir: fileURLToPath(new URL('../../', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error('esbuild produced no output');
  return file.text;
}

before(async () => {
  stack = await startAppStack();
  server = createServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  bundle = await pageBundle(stack.identityPoolId);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    timeout: 30_000,
  });
});

after(async () => {
  await browser.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await stack.stop();
});

interface Shown {
  identityId: string | null;
  accessKeyId: string | null;
  hasSecret: boolean;
  hasSessionToken: boolean;
  expiresInFuture: boolean;
}

void it(
  "Amplify v6's fetchAuthSession() gets the broker's credentials through the adapter",
  { timeout: 90_000 },
  async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    let credentialRequests = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/aws/credentials') credentialRequests += 1;
    });
    await page.route(baseUrl + BUNDLE_PATH, (route) =>
      route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle }),
    );
    try {
      await page.goto(baseUrl + '/');
      const login = await page.evaluate(async () => {
        const res = await fetch('/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'alice-demo-pass' }),
        });
        return res.status;
      });
      assert.equal(login, 200);

      const session = (options?: { forceRefresh: boolean }): Promise<Shown> =>
        page.evaluate(
          async ([path, opts]) => {
            const m = (await import(path)) as { session(o: unknown): Promise<Shown> };
            return m.session(opts);
          },
          [BUNDLE_PATH, options ?? {}] as const,
        );

      const first = await session();
      const creds = await stack.broker.getCredentials('user-alice');
      assert.deepEqual(first, {
        identityId: creds.identityId,
        accessKeyId: creds.accessKeyId,
        hasSecret: true,
        hasSessionToken: true,
        expiresInFuture: true,
      });
      assert.equal(credentialRequests, 1);
      assert.deepEqual(await session(), first, 'served from the cache');
      assert.equal(credentialRequests, 1);
      await session({ forceRefresh: true });
      assert.equal(credentialRequests, 2, 'forceRefresh fetches anew');

      await page.evaluate(async () => {
        await fetch('/logout', { method: 'POST' });
      });
      const loggedOut = await session({ forceRefresh: true });
      assert.deepEqual(loggedOut, {
        identityId: null,
        accessKeyId: null,
        hasSecret: false,
        hasSessionToken: false,
        expiresInFuture: false,
      });
    } finally {
      await context.close();
    }
  },
);
