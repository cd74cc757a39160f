import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { AppDeps } from '../../examples/express-app/app.js';
import { DEMO_PROVIDER, startAppStack, type AppStack } from '../helpers/app-stack.js';
import { assertProblem } from '../helpers/problem-assert.js';

type Agent = ReturnType<typeof request.agent>;
interface IdentityBody {
  identityId: string;
  logins: string[];
  developerUsers: string[];
  developerUsersTruncated: boolean;
}
interface LoginBody {
  identityId: string | null;
  guest: { identityId: string; outcome: string } | null;
}

async function withStack(fn: (s: AppStack) => Promise<void>, deps: Partial<AppDeps> = {}): Promise<void> {
  const stack = await startAppStack({ app: deps, recordForgetUser: true });
  try {
    await fn(stack);
  } finally {
    await stack.stop();
  }
}

async function login(
  stack: AppStack,
  username: string,
  password: string,
): Promise<{ agent: Agent; identityId: string }> {
  const agent = request.agent(stack.app);
  const res = await agent.post('/login').send({ username, password });
  assert.equal(res.status, 200, res.text);
  const body = res.body as { user: { id: string }; identityId: string };
  assert.match(body.identityId, /^us-east-1:[0-9a-f-]+$/);
  return { agent, identityId: body.identityId };
}

const alice = (s: AppStack) => login(s, 'alice', 'alice-demo-pass');
const bob = (s: AppStack) => login(s, 'bob', 'bob-demo-pass');

function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1]!;
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

void describe('example app /aws routes on the emulator', () => {
  void it('answers 401 problem+json with a Bearer challenge on every route when nobody is logged in', () =>
    withStack(async (s) => {
      for (const [method, path] of [
        ['get', '/aws/credentials'],
        ['get', '/aws/token'],
        ['get', '/aws/identity'],
        ['post', '/aws/logins'],
        ['delete', `/aws/logins/${DEMO_PROVIDER}`],
        ['post', '/aws/merge'],
      ] as const) {
        const res = await request(s.app)
          [method](path)
          .send(method === 'get' || method === 'delete' ? undefined : {});
        assertProblem(res, 401, 'ERR_UNAUTHENTICATED');
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="aws"/);
      }
    }));

  void it('serves the token with identity, pool and logins key, no-store', () =>
    withStack(async (s) => {
      const { agent, identityId } = await alice(s);
      const res = await agent.get('/aws/token');
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.body as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), [
        'expiresAt',
        'expiresIn',
        'identityId',
        'identityPoolId',
        'loginsKey',
        'token',
      ]);
      assert.equal(body.identityId, identityId);
      assert.equal(body.identityPoolId, s.emulator().pools[0]!.identityPoolId);
      assert.equal(body.loginsKey, 'cognito-identity.amazonaws.com');
      assert.ok(typeof body.expiresIn === 'number' && body.expiresIn > 0 && body.expiresIn <= 900);
      assert.ok(Math.abs(Date.parse(String(body.expiresAt)) - (Date.now() + body.expiresIn * 1000)) < 2000);
      assert.equal(decodeJwtPayload(String(body.token)).sub, identityId);
    }));

  void it('serves credentials for the logged-in user with expiration, no-store', () =>
    withStack(async (s) => {
      const { agent, identityId } = await alice(s);
      const res = await agent.get('/aws/credentials');
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const c = res.body as Record<string, string>;
      assert.deepEqual(Object.keys(c).sort(), [
        'accessKeyId',
        'expiration',
        'identityId',
        'secretAccessKey',
        'sessionToken',
      ]);
      assert.equal(c.identityId, identityId);
      assert.match(c.accessKeyId!, /^[A-Z0-9]{16,}$/);
      assert.ok(c.secretAccessKey!.length > 10 && c.sessionToken!.length > 10);
      assert.ok(Date.parse(c.expiration!) > Date.now() + 30 * 60_000);
    }));

  void it('describes the identity and links and unlinks an allowed provider login', () =>
    withStack(async (s) => {
      const { agent, identityId } = await alice(s);
      const before = await agent.get('/aws/identity');
      assert.equal(before.status, 200);
      // DescribeIdentity lists the developer provider too, as Cognito does.
      assert.deepEqual(before.body, { ...(before.body as object), identityId, logins: [] });
      const minted = await agent.post('/demo/provider-token');
      assert.equal(minted.status, 200);
      const providerToken = (minted.body as { token: string }).token;
      const linked = await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: providerToken });
      assert.equal(linked.status, 200, linked.text);
      assert.equal((linked.body as { identityId: string }).identityId, identityId);
      assert.deepEqual([...(linked.body as { logins: string[] }).logins].sort(), [DEMO_PROVIDER]);
      assert.deepEqual([...((await agent.get('/aws/identity')).body as { logins: string[] }).logins].sort(), [
        DEMO_PROVIDER,
      ]);
      const unlinked = await agent.delete(`/aws/logins/${DEMO_PROVIDER}`);
      assert.equal(unlinked.status, 200, unlinked.text);
      assert.deepEqual((unlinked.body as { logins: string[] }).logins, []);
      assert.equal((linked.text + unlinked.text).includes(providerToken.slice(-20)), false);
    }));

  void it('answers a refused provider token with 422 and no challenge, and the session stays valid', () =>
    withStack(async (s) => {
      const { agent, identityId } = await alice(s);
      const bad = await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: 'not-a-real-provider-token' });
      assertProblem(bad, 422, 'ERR_PROVIDER_TOKEN_REJECTED');
      // A 401 with a Bearer challenge makes OAuth-aware clients drop the user's session.
      assert.equal(bad.headers['www-authenticate'], undefined);
      const after = await agent.get('/aws/identity');
      assert.equal(after.status, 200);
      assert.equal((after.body as { identityId: string }).identityId, identityId);
    }));

  void it('refuses a provider outside the allow-list with 403', () =>
    withStack(async (s) => {
      const { agent } = await alice(s);
      const token = s.emulator().mintProviderToken(DEMO_PROVIDER, 'someone');
      assertProblem(
        await agent.post('/aws/logins').send({ provider: 'accounts.google.com', token }),
        403,
        'ERR_FORBIDDEN',
      );
      assertProblem(await agent.delete('/aws/logins/accounts.google.com'), 403, 'ERR_FORBIDDEN');
    }));

  void it('answers 400 for a bad body and for malformed JSON, 413 for an oversized body', () =>
    withStack(async (s) => {
      const { agent } = await alice(s);
      const missing = await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER });
      assertProblem(missing, 400, 'ERR_BAD_REQUEST');
      assert.match((missing.body as { detail: string }).detail, /token/);
      assertProblem(await agent.post('/aws/logins').send({ provider: 42, token: 'x' }), 400, 'ERR_BAD_REQUEST');
      assertProblem(
        await agent.post('/aws/logins').set('Content-Type', 'application/json').send('{"provider":'),
        400,
        'ERR_BAD_REQUEST',
      );
      assertProblem(
        await agent.post('/aws/logins').set('Content-Type', 'text/plain').send('provider=x'),
        400,
        'ERR_BAD_REQUEST',
      );
      const big = await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: 'x'.repeat(20_000) });
      assertProblem(big, 413, 'ERR_PAYLOAD_TOO_LARGE');
    }));

  void it('refuses cross-site state-changing requests on a cookie session with 403', () =>
    withStack(async (s) => {
      const { agent } = await alice(s);
      const token = s.emulator().mintProviderToken(DEMO_PROVIDER, 'cross-site');
      const body = { provider: DEMO_PROVIDER, token };
      assertProblem(
        await agent.post('/aws/logins').set('Origin', 'https://evil.example').send(body),
        403,
        'ERR_FORBIDDEN',
      );
      assertProblem(
        await agent.post('/aws/logins').set('Sec-Fetch-Site', 'cross-site').send(body),
        403,
        'ERR_FORBIDDEN',
      );
      assertProblem(await agent.post('/aws/logins').set('Origin', 'null').send(body), 403, 'ERR_FORBIDDEN');
      assertProblem(
        await agent.delete(`/aws/logins/${DEMO_PROVIDER}`).set('Sec-Fetch-Site', 'same-site'),
        403,
        'ERR_FORBIDDEN',
      );
      assertProblem(
        await agent.post('/aws/merge').set('Origin', 'https://evil.example').send({}),
        403,
        'ERR_FORBIDDEN',
      );
      assertProblem(await agent.post('/logout').set('Origin', 'https://evil.example'), 403, 'ERR_FORBIDDEN');
      // Reads are not state-changing; a same-origin write passes.
      assert.equal((await agent.get('/aws/identity').set('Sec-Fetch-Site', 'cross-site')).status, 200);
      const ok = await agent
        .post('/aws/logins')
        .set('Sec-Fetch-Site', 'same-origin')
        .set('Host', 'app.local:3000')
        .set('Origin', 'http://app.local:3000')
        .send(body);
      assert.equal(ok.status, 200, ok.text);
      const host = await agent
        .delete(`/aws/logins/${DEMO_PROVIDER}`)
        .set('Origin', 'http://app.local:3000')
        .set('Host', 'app.local:3000');
      assert.equal(host.status, 200, host.text);
    }));

  void it('refuses an Origin that differs from the app’s by scheme or port, and a foreign Origin beside Sec-Fetch-Site: none', () =>
    withStack(async (s) => {
      const { agent } = await alice(s);
      const body = { provider: DEMO_PROVIDER, token: s.emulator().mintProviderToken(DEMO_PROVIDER, 'red-team') };
      const onApp = (r: request.Test) => r.set('Host', 'app.local:3000');
      for (const origin of ['https://app.local:3000', 'http://app.local:3001', 'http://app.local']) {
        assertProblem(await onApp(agent.post('/aws/logins')).set('Origin', origin).send(body), 403, 'ERR_FORBIDDEN');
      }
      for (const site of ['none', 'same-origin']) {
        assertProblem(
          await onApp(agent.post('/aws/logins'))
            .set('Sec-Fetch-Site', site)
            .set('Origin', 'https://evil.example')
            .send(body),
          403,
          'ERR_FORBIDDEN',
        );
        // Login CSRF: a browser with no session yet, logged into the attacker's account.
        assertProblem(
          await onApp(request(s.app).post('/login'))
            .set('Sec-Fetch-Site', site)
            .set('Origin', 'https://evil.example')
            .send({ username: 'bob', password: 'bob-demo-pass' }),
          403,
          'ERR_FORBIDDEN',
        );
      }
      assert.deepEqual(((await agent.get('/aws/identity')).body as { logins: string[] }).logins, []);
      const ok = await onApp(agent.post('/aws/logins')).set('Origin', 'http://app.local:3000').send(body);
      assert.equal(ok.status, 200, ok.text);
    }));

  void it('answers 409 when the login is already linked to another identity', () =>
    withStack(async (s) => {
      const a = await alice(s);
      const b = await bob(s);
      const token = s.emulator().mintProviderToken(DEMO_PROVIDER, 'shared-person');
      assert.equal((await a.agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token })).status, 200);
      const res = await b.agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token });
      assertProblem(res, 409, 'ERR_CONFLICT');
      assert.equal(res.text.includes(a.identityId), false);
      assert.deepEqual(((await b.agent.get('/aws/identity')).body as { logins: string[] }).logins, []);
    }));

  void it('answers 503 with Retry-After when Cognito throttles', () =>
    withStack(async (s) => {
      const agent = request.agent(s.app);
      s.emulator().setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'TooManyRequestsException' });
      // Login still succeeds: afterLogin only warms the token and logs the failure.
      assert.equal((await agent.post('/login').send({ username: 'bob', password: 'bob-demo-pass' })).status, 200);
      const res = await agent.get('/aws/token');
      assertProblem(res, 503, 'ERR_COGNITO_THROTTLED');
      assert.ok(Number(res.headers['retry-after']) >= 1);
      assertProblem(await agent.get('/aws/credentials'), 503, 'ERR_COGNITO_THROTTLED');
      s.emulator().clearFaults();
      assert.equal((await agent.get('/aws/token')).status, 200);
    }));

  void it('refuses a merge without proof (403) and merges with proof of the other account', () =>
    withStack(async (s) => {
      const a = await alice(s);
      const work = await login(s, 'alice.work', 'alice-work-pass');
      assert.notEqual(work.identityId, a.identityId);
      assertProblem(await a.agent.post('/aws/merge').send({}), 403, 'ERR_FORBIDDEN');
      assertProblem(await a.agent.post('/aws/merge').send({ userId: 'user-alice-work' }), 403, 'ERR_FORBIDDEN');
      assertProblem(
        await a.agent.post('/aws/merge').send({ username: 'alice.work', password: 'wrong' }),
        403,
        'ERR_FORBIDDEN',
      );
      assertProblem(
        await a.agent.post('/aws/merge').send({ username: 'alice', password: 'alice-demo-pass' }),
        400,
        'ERR_BAD_REQUEST',
      );
      const merged = await a.agent.post('/aws/merge').send({ username: 'alice.work', password: 'alice-work-pass' });
      assert.equal(merged.status, 200, merged.text);
      assert.deepEqual(merged.body, { identityId: a.identityId });
      const again = await login(s, 'alice.work', 'alice-work-pass');
      assert.equal(again.identityId, a.identityId);
      // An account that never had an identity is merged too (it gets one, then it is merged).
      assert.equal(await s.broker.lookupIdentity('user-bob'), null);
      const fresh = await a.agent.post('/aws/merge').send({ username: 'bob', password: 'bob-demo-pass' });
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal((await s.broker.getToken('user-bob')).identityId, a.identityId);
    }));

  void it('lists the developer users that share the identity in GET /aws/identity, merged accounts included', () =>
    withStack(async (s) => {
      const a = await alice(s);
      const before = (await a.agent.get('/aws/identity')).body as IdentityBody;
      assert.deepEqual(before.developerUsers, ['user-alice']);
      assert.equal(before.developerUsersTruncated, false);
      const merged = await a.agent.post('/aws/merge').send({ username: 'alice.work', password: 'alice-work-pass' });
      assert.equal(merged.status, 200, merged.text);
      const after = (await a.agent.get('/aws/identity')).body as IdentityBody;
      assert.equal(after.identityId, a.identityId);
      assert.deepEqual([...after.developerUsers].sort(), ['user-alice', 'user-alice-work']);
      assert.deepEqual(after.logins, []);
      // The merged account sees the same list from its own session.
      const work = await login(s, 'alice.work', 'alice-work-pass');
      const seen = (await work.agent.get('/aws/identity')).body as IdentityBody;
      assert.deepEqual([...seen.developerUsers].sort(), ['user-alice', 'user-alice-work']);
    }));

  void it('says in the login response whether the guest identity was upgraded or left behind', () =>
    withStack(async (s) => {
      // Bob has no identity yet: the guest's becomes his.
      const fresh = request.agent(s.app);
      const g1 = ((await fresh.post('/aws/guest')).body as { identityId: string }).identityId;
      const upgraded = await fresh.post('/login').send({ username: 'bob', password: 'bob-demo-pass' });
      assert.equal(upgraded.status, 200, upgraded.text);
      assert.deepEqual((upgraded.body as LoginBody).guest, { identityId: g1, outcome: 'upgraded' });
      // Alice already has one: she keeps hers and the guest is left as it was.
      const own = await alice(s);
      const other = request.agent(s.app);
      const g2 = ((await other.post('/aws/guest')).body as { identityId: string }).identityId;
      const kept = await other.post('/login').send({ username: 'alice', password: 'alice-demo-pass' });
      assert.equal(kept.status, 200, kept.text);
      assert.equal((kept.body as LoginBody).identityId, own.identityId);
      assert.deepEqual((kept.body as LoginBody).guest, { identityId: g2, outcome: 'user-has-identity' });
      // Without a guest there is nothing to say.
      assert.equal(
        (
          (await request(s.app).post('/login').send({ username: 'alice', password: 'alice-demo-pass' }))
            .body as LoginBody
        ).guest,
        null,
      );
    }));

  void it('never reaches another user’s identity through body, query, headers or a presented guest id', () =>
    withStack(async (s) => {
      const a = await alice(s);
      const b = await bob(s);
      assert.notEqual(a.identityId, b.identityId);
      const viaQuery = await b.agent.get(
        '/aws/credentials?userId=user-alice&identityId=' + encodeURIComponent(a.identityId),
      );
      assert.equal((viaQuery.body as { identityId: string }).identityId, b.identityId);
      const viaHeader = await b.agent.get('/aws/token').set('X-User-Id', 'user-alice');
      assert.equal((viaHeader.body as { identityId: string }).identityId, b.identityId);
      const guest = await request(s.app).post('/aws/guest').send({ identityId: a.identityId });
      assert.equal(guest.status, 200, guest.text);
      assert.notEqual((guest.body as { identityId: string }).identityId, a.identityId);
      // A mobile login presenting Alice's identity as its "guest" identity keeps Bob on his own.
      const mobile = await request(s.app)
        .post('/api/tokens')
        .send({ username: 'bob', password: 'bob-demo-pass', guestIdentityId: a.identityId });
      assert.equal(mobile.status, 200, mobile.text);
      assert.equal((mobile.body as { identityId: string }).identityId, b.identityId);
      assert.equal(((await a.agent.get('/aws/token')).body as { identityId: string }).identityId, a.identityId);
    }));

  void it('serves guest credentials, keeps the guest in the session and upgrades it at login', () =>
    withStack(async (s) => {
      const agent = request.agent(s.app);
      const g1 = await agent.post('/aws/guest');
      assert.equal(g1.status, 200, g1.text);
      assert.equal(g1.headers['cache-control'], 'no-store');
      const guestId = (g1.body as { identityId: string }).identityId;
      const g2 = await agent.post('/aws/guest');
      assert.equal((g2.body as { identityId: string }).identityId, guestId);
      const res = await agent.post('/login').send({ username: 'bob', password: 'bob-demo-pass' });
      assert.equal(res.status, 200);
      assert.equal((res.body as { identityId: string }).identityId, guestId);
      assert.equal(((await agent.get('/aws/token')).body as { identityId: string }).identityId, guestId);
    }));

  void it('keeps the guest identity when Cognito throttles its upgrade at login, and upgrades it at the next login', () =>
    withStack(async (s) => {
      const agent = request.agent(s.app);
      const g = await agent.post('/aws/guest');
      assert.equal(g.status, 200, g.text);
      const guestId = (g.body as { identityId: string }).identityId;
      // The upgrade's own call (GetOpenIdTokenForDeveloperIdentity on the guest) is throttled once.
      s.emulator().setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'TooManyRequestsException', count: 1 });
      const first = await agent.post('/login').send({ username: 'bob', password: 'bob-demo-pass' });
      assert.equal(first.status, 200, first.text);
      assert.equal((first.body as { identityId: string | null }).identityId, null);
      s.emulator().clearFaults();
      const again = await agent.post('/login').send({ username: 'bob', password: 'bob-demo-pass' });
      assert.equal(again.status, 200, again.text);
      assert.equal((again.body as { identityId: string }).identityId, guestId);
      assert.equal(((await agent.get('/aws/token')).body as { identityId: string }).identityId, guestId);
    }));

  void it('retries a guest upgrade that failed at login on the next /aws request instead of creating a new identity', () =>
    withStack(async (s) => {
      const agent = request.agent(s.app);
      const g = await agent.post('/aws/guest');
      assert.equal(g.status, 200, g.text);
      const guestId = (g.body as { identityId: string }).identityId;
      s.emulator().setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'TooManyRequestsException', count: 1 });
      const login = await agent.post('/login').send({ username: 'bob', password: 'bob-demo-pass' });
      assert.equal(login.status, 200, login.text);
      assert.equal((login.body as { identityId: string | null }).identityId, null);
      // Still throttled at the next request: the request fails and the guest stays pending.
      s.emulator().setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'TooManyRequestsException', count: 1 });
      const throttled = await agent.get('/aws/credentials');
      assertProblem(throttled, 503, 'ERR_COGNITO_THROTTLED');
      assert.ok(Number(throttled.headers['retry-after']) >= 1);
      assert.equal(await s.broker.lookupIdentity('user-bob'), null, 'no identity made while the upgrade can succeed');
      // The page asks for its credentials and token at once: one upgrade, both get the guest's identity.
      const [creds, token] = await Promise.all([agent.get('/aws/credentials'), agent.get('/aws/token')]);
      assert.equal(creds.status, 200, `${creds.text} ${JSON.stringify(s.broker.stats())}`);
      assert.equal((creds.body as { identityId: string }).identityId, guestId);
      assert.equal((token.body as { identityId: string }).identityId, guestId);
      assert.equal(await s.broker.lookupIdentity('user-bob'), guestId);
      s.emulator().resetCounters();
      assert.equal(((await agent.get('/aws/identity')).body as { identityId: string }).identityId, guestId);
      assert.equal(s.emulator().counters().GetOpenIdTokenForDeveloperIdentity, undefined, 'the guest left the session');
    }));

  void it('gives a session a new guest identity when its guest was upgraded by someone else', () =>
    withStack(async (s) => {
      const agent = request.agent(s.app);
      const g1 = await agent.post('/aws/guest');
      assert.equal(g1.status, 200, g1.text);
      const guestId = (g1.body as { identityId: string }).identityId;
      // Another client presents the same guest id at login and takes the identity.
      const mobile = await request(s.app)
        .post('/api/tokens')
        .send({ username: 'alice', password: 'alice-demo-pass', guestIdentityId: guestId });
      assert.equal(mobile.status, 200, mobile.text);
      assert.equal((mobile.body as { identityId: string }).identityId, guestId);
      const g2 = await agent.post('/aws/guest');
      assert.equal(g2.status, 200, g2.text);
      const next = (g2.body as { identityId: string }).identityId;
      assert.notEqual(next, guestId);
      // The session now keeps the new guest, and the next call returns it.
      const g3 = await agent.post('/aws/guest');
      assert.equal((g3.body as { identityId: string }).identityId, next);
    }));

  void it('serves a user who logs out and in again from the cache, with no Cognito call', () =>
    withStack(async (s) => {
      const first = await alice(s);
      const creds = await first.agent.get('/aws/credentials');
      assert.equal(creds.status, 200);
      assert.equal((await first.agent.post('/logout')).status, 204);
      assertProblem(await first.agent.get('/aws/credentials'), 401, 'ERR_UNAUTHENTICATED');
      assert.deepEqual(s.forgotten, [], 'logout leaves the broker cache alone');
      s.emulator().resetCounters();
      const again = await alice(s);
      assert.equal(again.identityId, first.identityId);
      const after = await again.agent.get('/aws/credentials');
      assert.equal(after.status, 200);
      assert.equal(
        (after.body as { accessKeyId: string }).accessKeyId,
        (creds.body as { accessKeyId: string }).accessKeyId,
      );
      assert.equal(((await again.agent.get('/aws/token')).body as { identityId: string }).identityId, first.identityId);
      assert.deepEqual(s.emulator().counters(), {}, 'no Cognito call after logging in again');
    }));

  void it('rate-limits linking per user with 429 and Retry-After', () =>
    withStack(
      async (s) => {
        const a = await alice(s);
        const b = await bob(s);
        const body = { provider: 'accounts.google.com', token: 'x' };
        // Forbidden providers do not count; allowed ones do.
        assertProblem(await a.agent.post('/aws/logins').send(body), 403, 'ERR_FORBIDDEN');
        for (let i = 0; i < 2; i++) {
          assert.equal((await a.agent.delete(`/aws/logins/${DEMO_PROVIDER}`)).status, 200);
        }
        const limited = await a.agent.delete(`/aws/logins/${DEMO_PROVIDER}`);
        assertProblem(limited, 429, 'ERR_RATE_LIMITED');
        assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);
        assertProblem(
          await a.agent.post('/aws/merge').send({ username: 'bob', password: 'bob-demo-pass' }),
          429,
          'ERR_RATE_LIMITED',
        );
        // Another user has their own budget.
        assert.equal((await b.agent.delete(`/aws/logins/${DEMO_PROVIDER}`)).status, 200);
      },
      { rateLimit: { max: 2, windowSeconds: 60 } },
    ));

  void it('rate-limits GET /aws/identity per user with 429 and Retry-After, apart from the linking budget', () =>
    withStack(
      async (s) => {
        const a = await alice(s);
        const b = await bob(s);
        s.emulator().resetCounters();
        // Three times the router's rateLimit.max per window: 6 describes, then 429.
        for (let i = 0; i < 6; i++) assert.equal((await a.agent.get('/aws/identity')).status, 200);
        const limited = await a.agent.get('/aws/identity');
        assertProblem(limited, 429, 'ERR_RATE_LIMITED');
        assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);
        // The refused request reached no DescribeIdentity.
        assert.equal(s.emulator().counters().DescribeIdentity, 6);
        // Another user has their own budget, and the user's link budget is untouched.
        assert.equal((await b.agent.get('/aws/identity')).status, 200);
        assert.equal((await a.agent.delete(`/aws/logins/${DEMO_PROVIDER}`)).status, 200);
      },
      { rateLimit: { max: 2, windowSeconds: 60 } },
    ));

  void it('lets a mobile client log in with a bearer token and refuses a bad one with 401', () =>
    withStack(async (s) => {
      const login = await request(s.app).post('/api/tokens').send({ username: 'alice', password: 'alice-demo-pass' });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.headers['set-cookie'], undefined);
      const { accessToken, identityId } = login.body as { accessToken: string; identityId: string };
      const tok = await request(s.app).get('/aws/token').set('Authorization', `Bearer ${accessToken}`);
      assert.equal(tok.status, 200);
      assert.equal((tok.body as { identityId: string }).identityId, identityId);
      // No cookie: the same-origin check does not apply to bearer clients.
      const guest = await request(s.app)
        .delete(`/aws/logins/${DEMO_PROVIDER}`)
        .set('Authorization', `Bearer ${accessToken}`)
        .set('Origin', 'capacitor://localhost');
      assert.equal(guest.status, 200, guest.text);
      const bad = await request(s.app).get('/aws/token').set('Authorization', 'Bearer not-a-real-token');
      assertProblem(bad, 401, 'ERR_UNAUTHENTICATED');
      assert.equal(bad.headers['www-authenticate'], 'Bearer realm="aws", error="invalid_token"');
      assertProblem(
        await request(s.app).post('/api/tokens').send({ username: 'alice', password: 'nope' }),
        401,
        'ERR_UNAUTHENTICATED',
      );
    }));

  void it('answers 401 for a wrong password at login and 404 problem for an unknown route', () =>
    withStack(async (s) => {
      assertProblem(
        await request(s.app).post('/login').send({ username: 'alice', password: 'wrong' }),
        401,
        'ERR_UNAUTHENTICATED',
      );
      assertProblem(await request(s.app).get('/nope'), 404, 'ERR_NOT_FOUND');
    }));

  void it('never writes a token, secret, provider token, password or cookie to the log', () =>
    withStack(async (s) => {
      const { agent } = await alice(s);
      const token = (await agent.get('/aws/token')).body as { token: string };
      const creds = (await agent.get('/aws/credentials')).body as { secretAccessKey: string; sessionToken: string };
      const providerToken = s.emulator().mintProviderToken(DEMO_PROVIDER, 'log-check');
      await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: providerToken });
      s.emulator().setFault('*', { error: 'InternalErrorException' });
      await agent.delete(`/aws/logins/${DEMO_PROVIDER}`);
      const log = s.logText();
      assert.ok(log.length > 0);
      for (const secret of [
        token.token,
        creds.secretAccessKey,
        creds.sessionToken,
        providerToken,
        'alice-demo-pass',
        'demo.sid=',
      ]) {
        assert.equal(log.includes(secret), false, `log contains ${secret.slice(0, 12)}…`);
      }
    }));
});
