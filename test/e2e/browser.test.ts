import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { GetIdentityPoolRolesCommand } from '@aws-sdk/client-cognito-identity';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp } from '../../examples/express-app/app.js';
import { startEmulator } from '../../src/emulator/index.js';
import { createBroker } from '../../src/index.js';
import { problem } from '../../src/middleware/problem.js';
import { DEMO_POOL, DEMO_PROVIDER, startAppStack, type AppStack } from '../helpers/app-stack.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

let stack: AppStack;
let server: Server;
let browser: Browser;
let baseUrl: string;

before(async () => {
  stack = await startAppStack({ recordForgetUser: true });
  server = createServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
});

after(async () => {
  await browser.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await stack.stop();
});

/** Waits for the page's start-up (its first look at the config and the session) to settle. */
async function started(page: Page): Promise<void> {
  await page.locator('body[data-started]').waitFor({ state: 'attached' });
}

async function status(page: Page): Promise<string> {
  await page.locator('#status').waitFor({ state: 'visible' });
  return page.locator('#status').innerText();
}

void it(
  'logs in, gets credentials, links and unlinks a login, and logs out in Chromium',
  { timeout: 90_000 },
  async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    try {
      await page.goto(baseUrl + '/');
      await started(page);
      await page.locator('#signed-out').waitFor({ state: 'visible' });

      await page.fill('#username', 'alice');
      await page.fill('#password', 'alice-demo-pass');
      await page.click('#login-button');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      assert.match(await status(page), /^Signed in/);
      const own = await stack.broker.getToken('user-alice');
      await page.locator('#identity-id', { hasText: own.identityId }).waitFor();
      assert.equal(await page.locator('#current-user').innerText(), 'Alice Liddell (alice)');

      await page.click('#get-credentials');
      await page.locator('#status', { hasText: 'Credentials fetched.' }).waitFor();
      const creds = await stack.broker.getCredentials('user-alice');
      assert.equal(await page.locator('#access-key-id').innerText(), creds.accessKeyId);
      const masked = await page.locator('#secret-access-key').innerText();
      assert.match(masked, /^•+ +hidden \(\d+ chars\)$/);
      const html = await page.content();
      assert.equal(html.includes(creds.secretAccessKey), false, 'the secret key is never in the page');
      assert.equal(html.includes(creds.sessionToken), false, 'the session token is never in the page');
      assert.match(await page.locator('#expiration').innerText(), /in \d+ min/);

      await page.click('#link-provider');
      await page.locator('#status', { hasText: 'Linked graph.facebook.com.' }).waitFor();
      assert.equal(await page.locator('#provider-state').innerText(), 'linked');
      assert.ok((await stack.broker.describeIdentity('user-alice')).logins.includes('graph.facebook.com'));
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'browser-signed-in.png'), fullPage: true });

      await page.click('#unlink-provider');
      await page.locator('#status', { hasText: 'Unlinked graph.facebook.com.' }).waitFor();
      assert.equal(await page.locator('#provider-state').innerText(), 'not linked');
      assert.equal((await stack.broker.describeIdentity('user-alice')).logins.includes('graph.facebook.com'), false);

      await page.click('#logout');
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      assert.match(await status(page), /Signed out/);
      assert.deepEqual(stack.forgotten, [], 'logout keeps the broker cache for the next login');
      const after = await page.evaluate(async () => (await fetch('/aws/credentials')).status);
      assert.equal(after, 401);
      await page.screenshot({ path: join(ARTIFACTS, 'browser-signed-out.png'), fullPage: true });
      // The only console error expected is the 401 of that last probe.
      assert.ok(
        consoleErrors.every((e) => e.includes('401')),
        consoleErrors.join('\n'),
      );
    } finally {
      await context.close();
    }
  },
);

void it('keeps a guest identity at sign-in and merges a second account in Chromium', { timeout: 90_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  try {
    await page.goto(baseUrl + '/');
    await page.click('#guest-button');
    await page.locator('#status', { hasText: 'Guest credentials issued.' }).waitFor();
    const guestId = await page.locator('#guest-identity-id').innerText();
    assert.match(guestId, /^us-east-1:[0-9a-f-]+$/);

    await page.fill('#username', 'bob');
    await page.fill('#password', 'bob-demo-pass');
    await page.click('#login-button');
    await page.locator('#identity-id', { hasText: guestId }).waitFor();
    assert.equal((await stack.broker.getToken('user-bob')).identityId, guestId);

    // alice.work has never used the app: the merge gives it an identity and merges that.
    assert.equal(await stack.broker.lookupIdentity('user-alice-work'), null);
    await page.fill('#merge-username', 'alice.work');
    await page.fill('#merge-password', 'alice-work-pass');
    await page.click('#merge-button');
    await page.locator('#status', { hasText: 'Merged' }).waitFor();
    assert.equal(await page.locator('#status').getAttribute('class'), 'status');
    assert.equal((await stack.broker.getToken('user-alice-work')).identityId, guestId);
    await page.locator('#developer-users', { hasText: 'alice.work' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'browser-merged.png'), fullPage: true });

    await page.fill('#merge-username', 'alice');
    await page.fill('#merge-password', 'wrong-password');
    await page.click('#merge-button');
    await page.locator('#status.error', { hasText: 'ERR_FORBIDDEN' }).waitFor();
  } finally {
    await context.close();
  }
});

void it(
  "refreshes the page's credentials through an expiry and an injected 503 with one request per refresh in Chromium",
  { timeout: 120_000 },
  async () => {
    // One clock for the emulator, the broker and the app's Date header: the server's time. The
    // browser's clock (Playwright's) runs 10 minutes behind it; both jump forward together.
    const server = new ManualClock(Date.now());
    const emulator = await startEmulator({ host: '127.0.0.1', port: 0, seed: [DEMO_POOL], clock: server });
    const client = emulatorClient(emulator);
    const pool = emulator.pools[0]!;
    const broker = createBroker({
      identityPoolId: pool.identityPoolId,
      developerProviderName: DEMO_POOL.developerProviderName,
      client,
      clock: server,
    });
    const app = createApp({ broker, sessionSecret: 'browser-clock-test-session-secret', demoProvider: DEMO_PROVIDER });
    let reachedApp = 0;
    let inject503 = 0;
    let injected = 0;
    const http = createServer((req, res) => {
      res.setHeader('Date', new Date(server.now()).toUTCString());
      if (req.url === '/aws/credentials') {
        if (inject503 > 0) {
          inject503 -= 1;
          injected += 1;
          res.writeHead(503, {
            'Content-Type': 'application/problem+json',
            'Cache-Control': 'no-store',
            'Retry-After': '1',
          });
          res.end(JSON.stringify(problem('ERR_COGNITO_THROTTLED', 503)));
          return;
        }
        reachedApp += 1;
      }
      app(req, res);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const BEHIND = 10 * 60_000;
    const HOUR = 3_600_000;
    const jump = async (ms: number): Promise<void> => {
      server.advance(ms);
      await page.clock.fastForward(ms);
    };
    // Three SDK calls wanting credentials at once: three clicks in one task.
    const getCredentialsThrice = async (): Promise<string> => {
      await page.evaluate("for (let i = 0; i < 3; i += 1) document.getElementById('get-credentials').click()");
      await page.locator('#status', { hasText: 'Credentials fetched.' }).waitFor();
      return page.locator('#access-key-id').innerText();
    };
    const credentialCalls = (): number => emulator.counters().GetCredentialsForIdentity ?? 0;
    try {
      await page.clock.install({ time: server.now() - BEHIND });
      await page.goto(url);
      await page.fill('#username', 'alice');
      await page.fill('#password', 'alice-demo-pass');
      await page.click('#login-button');
      await page.locator('#signed-in').waitFor({ state: 'visible' });

      const first = await getCredentialsThrice();
      assert.equal(reachedApp, 1, 'one request for three concurrent calls');
      assert.equal(credentialCalls(), 1);
      // The expiry is shown on the browser's clock: an hour away, not an hour and ten minutes.
      assert.match(await page.locator('#expiration').innerText(), /in (59|60) min/);

      // 90 s before expiry (server time): still fresh, served from the page's cache.
      await jump(HOUR - 90_000);
      assert.equal(await getCredentialsThrice(), first);
      assert.equal(reachedApp, 1);

      // 30 s before expiry, inside the page's 60 s margin on the server's clock (on its own clock,
      // 10 min behind, the credentials would look good for 10 more minutes): one refresh.
      await jump(60_000);
      const second = await getCredentialsThrice();
      assert.notEqual(second, first);
      assert.equal(reachedApp, 2, 'one request for the refresh');
      assert.equal(credentialCalls(), 2);

      // The next expiry, with the broker answering 503 once: one retry after Retry-After, then the
      // refresh; the backend sees one request.
      inject503 = 1;
      await jump(HOUR - 30_000);
      const third = await getCredentialsThrice();
      assert.notEqual(third, second);
      assert.equal(injected, 1);
      assert.equal(reachedApp, 3, 'one request reached the app for the refresh');
      assert.equal(credentialCalls(), 3);
      await page.screenshot({ path: join(ARTIFACTS, 'browser-refreshed.png'), fullPage: true });
    } finally {
      await context.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      client.destroy();
      await emulator.stop();
    }
  },
);
void it(
  'verifies the credentials with an STS GetCallerIdentity signed in the page, and shows a refused signature, in Chromium',
  { timeout: 90_000 },
  async () => {
    const client = emulatorClient(stack.emulator());
    const roles = await client.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: stack.identityPoolId }));
    client.destroy();
    const authRole = roles.Roles?.authenticated ?? '';
    const [, , , , account, resource] = authRole.split(':');
    const roleName = resource?.split('/').pop() ?? '';
    assert.ok(account && roleName, authRole);
    const calls = (): number => stack.emulator().counters().GetCallerIdentity ?? 0;
    const login = async (page: Page, username: string, password: string): Promise<void> => {
      await page.goto(baseUrl + '/');
      await page.fill('#username', username);
      await page.fill('#password', password);
      await page.click('#login-button');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      await page.click('#get-credentials');
      await page.locator('#status', { hasText: 'Credentials fetched.' }).waitFor();
    };

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const stsRequests: Record<string, string>[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/sts')) stsRequests.push(r.headers());
    });
    try {
      await login(page, 'alice', 'alice-demo-pass');
      const before = calls();
      await page.click('#verify-credentials');
      await page.locator('#status', { hasText: 'Verified' }).waitFor();
      const arn = await page.locator('#caller-arn').innerText();
      const prefix = `arn:aws:sts::${account}:assumed-role/${roleName}/`;
      assert.ok(arn.startsWith(prefix), arn);
      assert.match(arn.slice(prefix.length), /^[\w+=,.@-]+$/);
      assert.match(await page.locator('#status').innerText(), /STS accepted the signature/);
      assert.equal(calls(), before + 1, 'the emulator answered one GetCallerIdentity');
      // Signed in the page with the session token; no cookie goes to STS.
      assert.equal(stsRequests.length, 1);
      const sent = stsRequests[0]!;
      assert.match(
        sent.authorization ?? '',
        /^AWS4-HMAC-SHA256 Credential=\S+\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, /,
      );
      assert.equal(sent.cookie, undefined);
      const creds = await stack.broker.getCredentials('user-alice');
      assert.equal(sent['x-amz-security-token'], creds.sessionToken);
      // Verify before Get (a fresh page): the credentials it signed with are shown, not left empty.
      await page.reload();
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#access-key-id').innerText(), '—');
      await page.click('#verify-credentials');
      await page.locator('#status', { hasText: 'Verified' }).waitFor();
      assert.equal(await page.locator('#access-key-id').innerText(), creds.accessKeyId);
      assert.match(await page.locator('#expiration').innerText(), /in \d+ min/);
      // On a phone the ARN breaks only after a colon or a slash, never inside a name.
      await page.setViewportSize({ width: 390, height: 800 });
      assert.deepEqual(await badBreaks(page, 'caller-arn', ':/'), []);
      assert.equal((await page.locator('#caller-arn').innerText()).replace(/\s/g, ''), arn);
      assert.equal(calls(), before + 2, 'the emulator answered two GetCallerIdentity');
      await page.screenshot({ path: join(ARTIFACTS, 'browser-sts-verified.png'), fullPage: true });
    } finally {
      await context.close();
    }

    // The same page with a secret key changed on its way into the page: STS refuses the signature.
    const tampered = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const evil = await tampered.newPage();
    evil.setDefaultTimeout(15_000);
    let realSecret = '';
    let wrongSecret = '';
    await evil.route('**/aws/credentials', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as Record<string, unknown>;
      realSecret = String(body.secretAccessKey);
      wrongSecret = `${realSecret.slice(0, -1)}${realSecret.endsWith('A') ? 'B' : 'A'}`;
      await route.fulfill({ response: res, json: { ...body, secretAccessKey: wrongSecret } });
    });
    try {
      await login(evil, 'bob', 'bob-demo-pass');
      await evil.click('#verify-credentials');
      await evil.locator('#status.error', { hasText: 'SignatureDoesNotMatch' }).waitFor();
      const text = await evil.locator('#status').innerText();
      assert.match(text, /^STS refused the signature: The request signature we calculated does not match/);
      assert.equal(await evil.locator('#caller-arn').innerText(), '—');
      const html = await evil.content();
      const bob = await stack.broker.getCredentials('user-bob');
      for (const secret of [realSecret, wrongSecret, bob.sessionToken]) {
        assert.ok(secret.length > 0);
        assert.equal(html.includes(secret), false, 'no secret in the page');
        assert.equal(stack.logText().includes(secret), false, 'no secret in the app log');
      }
    } finally {
      await tampered.close();
    }
  },
);
/** Holds the page's first answer (or every answer) to `pattern` until `release()` is called. */
async function holdAnswers(page: Page, pattern: string, only: 'first' | 'all'): Promise<() => void> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let first = true;
  await page.route(pattern, async (route) => {
    if (only === 'first' && !first) return route.continue();
    first = false;
    const response = await route.fetch();
    await held;
    await route.fulfill({ response });
  });
  return release;
}

/** A test's own page (1200×900): `hold` holds answers as {@link holdAnswers}; all released and closed after. */
async function onPage(
  fn: (page: Page, hold: (pattern: string, only: 'first' | 'all') => Promise<() => void>) => Promise<void>,
): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const releases: (() => void)[] = [];
  try {
    await fn(page, async (pattern, only) => {
      const release = await holdAnswers(page, pattern, only);
      releases.push(release);
      return release;
    });
  } finally {
    for (const release of releases) release();
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await context.close();
  }
}

/** Types a username and password into the sign-in form and sends it. */
async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login-button');
}

void it(
  "a sign-in that answers before the page's first look at the session stays signed in, in Chromium",
  { timeout: 60_000 },
  () =>
    onPage(async (page, hold) => {
      // The page's first GET /me answers late, after the sign-in below (a slow server at load).
      const release = await hold('**/me', 'first');
      await page.goto(baseUrl + '/');
      await signIn(page, 'alice.work', 'alice-work-pass');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      release();
      // The late answer (signed out, as the session was when it was asked) must not sign the page out.
      await started(page);
      assert.equal(await page.locator('#signed-in').isVisible(), true);
    }),
);

void it(
  "what the user typed before the page's first look at the session answered stays in the form, in Chromium",
  { timeout: 60_000 },
  () =>
    onPage(async (page, hold) => {
      // The page's first GET /me (signed out) answers after the user has typed, before the click.
      const release = await hold('**/me', 'first');
      await page.goto(baseUrl + '/');
      await page.fill('#username', 'alice');
      await page.fill('#password', 'alice-demo-pass');
      release();
      await started(page);
      assert.equal(await page.inputValue('#username'), 'alice');
      await page.click('#login-button');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      assert.equal(await page.inputValue('#password'), '', 'a sign-in still clears the form');
    }),
);

void it(
  "a click's message is not overwritten by the sign-in's identity refresh answering late, in Chromium",
  { timeout: 60_000 },
  () =>
    onPage(async (page, hold) => {
      // The identity panel's refresh after sign-in (GET /aws/identity) answers after the next click.
      const release = await hold('**/aws/identity', 'all');
      await page.goto(baseUrl + '/');
      await signIn(page, 'alice', 'alice-demo-pass');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      await page.click('#get-credentials');
      await page.locator('#status', { hasText: 'Credentials fetched.' }).waitFor();
      release();
      // The pool id is the refresh's last write: after it the sign-in has nothing left to show.
      await page.locator('#identity-pool-id', { hasText: stack.identityPoolId.split(':')[1]! }).waitFor();
      assert.equal(await page.locator('#status').innerText(), 'Credentials fetched.');
    }),
);

void it(
  "the sign-in's identity refresh: its refusal is not called a failed sign-in, and its late answer after a sign-out is dropped, in Chromium",
  { timeout: 60_000 },
  () =>
    onPage(async (page, hold) => {
      await page.goto(baseUrl + '/');
      await started(page);
      // The sign-in succeeds; the identity panel's refresh is throttled.
      await page.route('**/aws/identity', (route) =>
        route.fulfill({
          status: 429,
          headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '42' },
          body: JSON.stringify(problem('ERR_RATE_LIMITED', 429)),
        }),
      );
      await signIn(page, 'alice', 'alice-demo-pass');
      await page.locator('#status.error', { hasText: '(ERR_RATE_LIMITED) Try again in 42 s.' }).waitFor();
      assert.equal(await page.locator('#signed-in').isVisible(), true);
      assert.doesNotMatch(await page.locator('#status').innerText(), /Too many login attempts/);
      await page.unroute('**/aws/identity');
      await page.click('#logout');
      await page.locator('#status', { hasText: 'Signed out.' }).waitFor();

      // Signed in again, then out before the refresh answers: the answer is the old session's.
      const release = await hold('**/aws/identity', 'all');
      const answered = page.waitForResponse((r) => r.url().endsWith('/aws/identity'));
      await signIn(page, 'alice', 'alice-demo-pass');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      await page.click('#logout');
      await page.locator('#status', { hasText: 'Signed out.' }).waitFor();
      release();
      await answered;
      // Nothing to wait for when the answer is dropped: give a wrongly kept one time to show.
      await page.waitForTimeout(500);
      assert.equal(await page.locator('#identity-id').innerText(), '—');
      assert.equal(await page.locator('#status').innerText(), 'Signed out.');
    }),
);

void it(
  'a merge that answers after a sign-out is not announced on the signed-out page, in Chromium',
  { timeout: 60_000 },
  () =>
    onPage(async (page, hold) => {
      const release = await hold('**/aws/merge', 'all');
      await page.goto(baseUrl + '/');
      await started(page);
      await signIn(page, 'alice', 'alice-demo-pass');
      await page.locator('#status', { hasText: 'Signed in' }).waitFor();
      // A wrong password: the merge is refused, but only after the sign-out below.
      await page.fill('#merge-username', 'alice.work');
      await page.fill('#merge-password', 'not-the-password');
      const answered = page.waitForResponse((r) => r.url().endsWith('/aws/merge'));
      await page.click('#merge-button');
      await page.click('#logout');
      await page.locator('#status', { hasText: 'Signed out.' }).waitFor();
      release();
      await answered;
      // Nothing to wait for when the answer is dropped: give a wrongly shown one time to show.
      await page.waitForTimeout(500);
      assert.equal(await page.locator('#status').innerText(), 'Signed out.');
    }),
);

void it('tells the user to wait when logins are rate-limited (429) in Chromium', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  try {
    await page.goto(baseUrl + '/');
    // Ten wrong passwords for one username, then even the right one is refused for a while.
    for (let i = 0; i < 10; i++) {
      await page.fill('#username', 'alice.work');
      await page.fill('#password', `guess-${i}`);
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/login')),
        page.click('#login-button'),
      ]);
      assert.equal(res.status(), 401);
      // The page has handled the refusal (and emptied the password field) before the next attempt.
      await page.locator('#status.error', { hasText: 'Wrong username or password.' }).waitFor();
    }
    await page.fill('#username', 'alice.work');
    await page.fill('#password', 'alice-work-pass');
    await page.click('#login-button');
    await page.locator('#status.error', { hasText: 'Too many login attempts. Try again in 15 min.' }).waitFor();
    assert.equal(await page.locator('#signed-out').isVisible(), true);
  } finally {
    await context.close();
  }
});

/** Users of the phone test's own stack, so that what the other tests did to the demo users cannot matter. */
const PHONE_USERS = [
  { id: 'user-carol', username: 'alice.work', name: 'Carol Phone', password: 'carol-phone-pass' },
  { id: 'user-carol-work', username: 'carol.work', name: 'Carol (work)', password: 'carol-work-pass' },
  { id: 'user-dave', username: 'dave', name: 'Dave Fresh', password: 'dave-fresh-pass' },
];

// The page is evaluated from strings: the test's TypeScript has no DOM types.
async function noSideScroll(page: Page, when: string): Promise<void> {
  const [scrollWidth, clientWidth] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
  );
  assert.ok(scrollWidth <= clientWidth, `${when}: scrollWidth ${scrollWidth} > clientWidth ${clientWidth}`);
}

/** The UUID of the identity id shown in element `id` sits on one line (it may move below the region). */
/**
 * Where element `id`'s text wraps other than right after a character of `after`: each such break as
 * the text around it. Empty when every line ends after one of them (or the text is on one line).
 */
async function badBreaks(page: Page, id: string, after: string): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const el = document.getElementById(${JSON.stringify(id)});
    const chars = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (rect !== undefined) chars.push({ c: node.data[i], top: Math.round(rect.top) });
      }
    }
    const text = chars.map((x) => x.c).join('');
    const bad = [];
    for (let i = 1; i < chars.length; i++) {
      if (chars[i].top !== chars[i - 1].top && !${JSON.stringify(after)}.includes(chars[i - 1].c)) {
        bad.push(text.slice(Math.max(0, i - 8), i) + '|' + text.slice(i, i + 8));
      }
    }
    return bad;
  })()`);
}

async function uuidOnOneLine(page: Page, id: string): Promise<void> {
  const lines = await page.evaluate<number | string>(`(() => {
    const el = document.getElementById(${JSON.stringify(id)});
    const text = el.textContent ?? '';
    const uuid = text.slice(text.indexOf(':') + 1);
    const node = [...el.querySelectorAll('span')].find((s) => s.textContent === uuid)?.firstChild;
    if (node === undefined || node === null) return -1;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()];
    // Whole, and inside its box: a UUID kept whole by sticking out of the card is no better.
    const box = el.getBoundingClientRect();
    if (rects.some((r) => r.right > box.right + 0.5)) return 'outside';
    return new Set(rects.map((r) => Math.round(r.top))).size;
  })()`);
  assert.equal(lines, 1, `#${id}: the UUID is on ${lines} lines (-1: not in its own span; outside its box)`);
}

async function formValues(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(
    "['username', 'password', 'merge-username', 'merge-password'].map((id) => document.getElementById(id).value)",
  );
}

void it(
  'fits a 390 px phone, says what becomes of the guest, shows merged accounts, waits as Retry-After says and clears the forms in Chromium',
  { timeout: 120_000 },
  async () => {
    const phone = await startAppStack({ users: PHONE_USERS });
    const http = createServer(phone.app);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    try {
      // Carol has used the app before: she has an identity.
      const carols = (await phone.broker.getToken('user-carol')).identityId;
      await page.goto(url);
      await started(page);
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      await noSideScroll(page, 'signed out');

      await page.click('#guest-button');
      await page.locator('#status', { hasText: 'Guest credentials issued.' }).waitFor();
      const guestId = await page.locator('#guest-identity-id').innerText();
      assert.match(guestId.replace(/\s/g, ''), /^us-east-1:[0-9a-f-]{36}$/);
      await noSideScroll(page, 'guest');
      await uuidOnOneLine(page, 'guest-identity-id');
      // Before sign-in the panel says what happens to an account that already has an identity.
      assert.match(await page.locator('#guest-explainer').innerText(), /already has an identity keeps its own/);
      await page.screenshot({ path: join(ARTIFACTS, 'browser-390-guest.png'), fullPage: true });

      await page.fill('#username', 'alice.work');
      await page.fill('#password', 'carol-phone-pass');
      await page.click('#login-button');
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      // After sign-in it says that the guest was dropped, and why.
      assert.match(await status(page), /guest identity was not linked: your account already had an identity/);
      await page.screenshot({ path: join(ARTIFACTS, 'browser-390-guest-left-behind.png'), fullPage: true });
      await page.locator('#identity-id', { hasText: carols.split(':')[1]! }).waitFor();
      assert.equal(await phone.broker.lookupIdentity('user-carol'), carols);
      await noSideScroll(page, 'signed in');
      await uuidOnOneLine(page, 'identity-id');
      await page.locator('#identity-pool-id', { hasText: phone.identityPoolId.split(':')[1]! }).waitFor();
      await uuidOnOneLine(page, 'identity-pool-id');
      // Accounts by username (user-carol's is alice.work here), as every message names them.
      await page.locator('#developer-users', { hasText: 'alice.work' }).waitFor();

      // A failed merge leaves nothing typed in the form.
      await page.fill('#merge-username', 'carol.work');
      await page.fill('#merge-password', 'not-the-password');
      await page.click('#merge-button');
      await page.locator('#status.error', { hasText: 'ERR_FORBIDDEN' }).waitFor();
      assert.deepEqual(await formValues(page), ['', '', '', '']);

      await page.fill('#merge-username', 'carol.work');
      await page.fill('#merge-password', 'carol-work-pass');
      await page.click('#merge-button');
      await page.locator('#status', { hasText: 'Merged' }).waitFor();
      assert.deepEqual(await formValues(page), ['', '', '', '']);
      // The merge shows on the identity, and still after a reload.
      await page.locator('#developer-users', { hasText: 'carol.work' }).waitFor();
      await page.reload();
      await page.locator('#developer-users', { hasText: 'carol.work' }).waitFor();
      await page.locator('#identity-pool-id', { hasText: phone.identityPoolId.split(':')[1]! }).waitFor();
      assert.equal(
        (await page.locator('#developer-users .chip').allInnerTexts()).sort().join(' '),
        'alice.work carol.work',
      );
      await noSideScroll(page, 'merged');
      await page.screenshot({ path: join(ARTIFACTS, 'browser-390-signed-in.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      await noSideScroll(page, '1280 px');
      await uuidOnOneLine(page, 'identity-id');
      await uuidOnOneLine(page, 'identity-pool-id');
      await page.screenshot({ path: join(ARTIFACTS, 'browser-1280-signed-in.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });

      // Throttled: the message gives the wait the server sent.
      await page.route('**/aws/identity', (route) =>
        route.fulfill({
          status: 429,
          headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '42' },
          body: JSON.stringify(problem('ERR_RATE_LIMITED', 429)),
        }),
      );
      await page.click('#refresh-identity');
      await page.locator('#status.error', { hasText: 'Try again in 42 s.' }).waitFor();
      await page.unroute('**/aws/identity');

      // Typed but not sent, then logout: nothing stays for the next person at the page.
      await page.fill('#merge-username', 'carol.work');
      await page.fill('#merge-password', 'carol-work-pass');
      await page.click('#logout');
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      assert.deepEqual(await formValues(page), ['', '', '', '']);

      // Dave has never used the app: the guest identity becomes his, and the page says so.
      await page.click('#guest-button');
      await page.locator('#status', { hasText: 'Guest credentials issued.' }).waitFor();
      const daveGuest = (await page.locator('#guest-identity-id').innerText()).replace(/\s/g, '');
      await page.fill('#username', 'dave');
      await page.fill('#password', 'dave-fresh-pass');
      await page.click('#login-button');
      await page.locator('#status', { hasText: 'The guest identity is now yours' }).waitFor();
      assert.equal(await phone.broker.lookupIdentity('user-dave'), daveGuest);
      await page.screenshot({ path: join(ARTIFACTS, 'browser-390-guest-upgraded.png'), fullPage: true });
    } finally {
      await context.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await phone.stop();
    }
  },
);
