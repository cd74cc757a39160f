// Authorization, beyond routes.test.ts: every refusal is checked to reach no Cognito operation
// (the emulator's counters), and an identity id from the client never moves a login or a user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CognitoIdentityClient, LookupDeveloperIdentityCommand } from '@aws-sdk/client-cognito-identity';
import request, { type Response } from 'supertest';
import { DEMO_USERS } from '../../examples/express-app/users.js';
import { DEMO_POOL, DEMO_PROVIDER, RAISED_LOGIN_LIMITS, startAppStack, type AppStack } from '../helpers/app-stack.js';
import { problemCode } from '../helpers/problem-assert.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

type Agent = ReturnType<typeof request.agent>;

const FRESH = { id: 'user-fresh', username: 'fresh', name: 'Fresh', password: 'fresh-demo-pass' };
const USERS = [
  ...DEMO_USERS,
  FRESH,
  { id: 'user-fresh-2', username: 'fresh2', name: 'Fresh 2', password: 'fresh2-demo-pass' },
];

let s: AppStack;
let truthClient: CognitoIdentityClient;
const ledger = new SecretLedger();
ledger.checkAfter(() => s.logText());

async function login(username: string, password: string): Promise<{ agent: Agent; identityId: string }> {
  const agent = request.agent(s.app);
  const res = await agent.post('/login').send({ username, password });
  ledger.observe(res);
  assert.equal(res.status, 200, res.text);
  return { agent, identityId: (res.body as { identityId: string }).identityId };
}

async function bearer(username: string, password: string): Promise<string> {
  const res = await request(s.app).post('/api/tokens').send({ username, password });
  ledger.observe(res);
  assert.equal(res.status, 200, res.text);
  const token = (res.body as { accessToken: string }).accessToken;
  ledger.add(token, `Bearer ${token}`);
  return token;
}

async function usersOf(identityId: string): Promise<string[]> {
  const out = await truthClient.send(
    new LookupDeveloperIdentityCommand({ IdentityPoolId: s.identityPoolId, IdentityId: identityId, MaxResults: 60 }),
  );
  return [...(out.DeveloperUserIdentifierList ?? [])].sort();
}

/** Runs `fn` and asserts that it made no Cognito call at all. */
async function noUpstream(fn: () => Promise<void>): Promise<void> {
  s.emulator().resetCounters();
  await fn();
  assert.deepEqual(s.emulator().counters(), {}, 'a refused request reaches no Cognito operation');
}

function refused(res: Response, status: number, code: string): void {
  ledger.observe(res);
  assert.equal(res.status, status, res.text);
  assert.equal(problemCode(res), code);
}

void describe('authorization', () => {
  before(async () => {
    s = await startAppStack({ users: USERS, app: { rateLimit: false, loginRateLimit: RAISED_LOGIN_LIMITS } });
    truthClient = new CognitoIdentityClient({
      region: s.emulator().region,
      endpoint: s.emulator().endpoint,
      credentials: { accessKeyId: 'AKIDTRUTH', secretAccessKey: 'truth-secret' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    truthClient.destroy();
    await s.stop();
  });

  void it('refuses a merge without proof of the other account, whatever else the request names', async () => {
    const alice = await login('alice', 'alice-demo-pass');
    const work = await login('alice.work', 'alice-work-pass');
    const tok = await bearer('alice', 'alice-demo-pass');
    await noUpstream(async () => {
      for (const body of [
        {},
        { userId: 'user-alice-work' },
        { sourceUserId: 'user-alice-work', identityId: work.identityId },
        { username: 'alice.work' },
        { username: 'alice.work', password: 'alice-demo-pass' }, // the caller's own password
        { username: 'alice.work', password: ['alice-work-pass'] },
        { username: ['alice.work'], password: 'alice-work-pass' },
        { username: 'ALICE.WORK', password: 'alice-work-pass' },
        { username: 'alice.work', password: 'alice-work-pass ' },
      ]) {
        refused(await alice.agent.post('/aws/merge').send(body), 403, 'ERR_FORBIDDEN');
        refused(
          await request(s.app).post('/aws/merge').set('Authorization', `Bearer ${tok}`).send(body),
          403,
          'ERR_FORBIDDEN',
        );
      }
      // Proof in the query string or headers is not proof.
      refused(
        await alice.agent.post('/aws/merge?username=alice.work&password=alice-work-pass').send({}),
        403,
        'ERR_FORBIDDEN',
      );
      refused(
        await alice.agent
          .post('/aws/merge')
          .set('X-Username', 'alice.work')
          .set('X-Password', 'alice-work-pass')
          .send({}),
        403,
        'ERR_FORBIDDEN',
      );
      // Nobody logged in: 401 even with a valid proof.
      refused(
        await request(s.app).post('/aws/merge').send({ username: 'alice.work', password: 'alice-work-pass' }),
        401,
        'ERR_UNAUTHENTICATED',
      );
    });
    assert.deepEqual(await usersOf(work.identityId), ['user-alice-work']);
    assert.deepEqual(await usersOf(alice.identityId), ['user-alice']);
  });

  void it('refuses every provider outside the allow-list, however it is spelled, before reaching Cognito', async () => {
    const alice = await login('alice', 'alice-demo-pass');
    const token = s.emulator().mintProviderToken(DEMO_PROVIDER, 'allow-list');
    ledger.add(token);
    const spellings = [
      'accounts.google.com',
      DEMO_POOL.developerProviderName,
      'cognito-identity.amazonaws.com',
      'GRAPH.FACEBOOK.COM',
      'graph.facebook.com.',
      ' graph.facebook.com',
      'graph.facebοok.com', // Greek omicron
      'graph.facebook.com\u0000',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
    ];
    await noUpstream(async () => {
      for (const provider of spellings) {
        const link = await alice.agent.post('/aws/logins').send({ provider, token });
        ledger.observe(link);
        assert.ok(link.status === 403 || link.status === 400, `${JSON.stringify(provider)}: ${link.status}`);
        assert.ok(['ERR_FORBIDDEN', 'ERR_BAD_REQUEST'].includes(problemCode(link)), JSON.stringify(provider));
        const unlink = await alice.agent.delete(`/aws/logins/${encodeURIComponent(provider)}`);
        ledger.observe(unlink);
        assert.ok(
          unlink.status === 403 || unlink.status === 400 || unlink.status === 404,
          `${JSON.stringify(provider)}: ${unlink.status}`,
        );
        problemCode(unlink);
      }
    });
    // The allowed one, percent-encoded in the path, is the same provider.
    const linked = await alice.agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token });
    assert.equal(linked.status, 200, linked.text);
    const unlinked = await alice.agent.delete(`/aws/logins/${DEMO_PROVIDER.replace(/\./g, '%2E')}`);
    assert.equal(unlinked.status, 200, unlinked.text);
    assert.deepEqual((unlinked.body as { logins: string[] }).logins, []);
  });

  void it('refuses cross-site state-changing requests on a cookie session, bearer header or not', async () => {
    const bob = await login('bob', 'bob-demo-pass');
    const tok = await bearer('bob', 'bob-demo-pass');
    const token = s.emulator().mintProviderToken(DEMO_PROVIDER, 'cross-site-2');
    ledger.add(token);
    const cross: [string, string][] = [
      ['Origin', 'http://127.0.0.1.evil.example'],
      ['Origin', 'http://127.0.0.1:1'],
      ['Origin', 'https://evil.example'],
      ['Sec-Fetch-Site', 'cross-site'],
      ['Sec-Fetch-Site', 'same-site'],
    ];
    await noUpstream(async () => {
      for (const [name, value] of cross) {
        refused(
          await bob.agent.post('/aws/logins').set(name, value).send({ provider: DEMO_PROVIDER, token }),
          403,
          'ERR_FORBIDDEN',
        );
        // A bearer header does not make a request that also carries the cookie safe.
        refused(
          await bob.agent
            .post('/aws/logins')
            .set(name, value)
            .set('Authorization', `Bearer ${tok}`)
            .send({ provider: DEMO_PROVIDER, token }),
          403,
          'ERR_FORBIDDEN',
        );
        // A form post is what a cross-site page can send without a preflight.
        refused(
          await bob.agent.post('/aws/logins').set(name, value).type('form').send(`provider=${DEMO_PROVIDER}&token=x`),
          403,
          'ERR_FORBIDDEN',
        );
        refused(await bob.agent.delete(`/aws/logins/${DEMO_PROVIDER}`).set(name, value), 403, 'ERR_FORBIDDEN');
        refused(
          await bob.agent.post('/aws/merge').set(name, value).send({ username: 'alice', password: 'alice-demo-pass' }),
          403,
          'ERR_FORBIDDEN',
        );
        refused(await bob.agent.post('/aws/guest').set(name, value), 403, 'ERR_FORBIDDEN');
        // Login CSRF: a cross-site page must not log the browser into another account.
        refused(
          await bob.agent.post('/login').set(name, value).send({ username: 'alice', password: 'alice-demo-pass' }),
          403,
          'ERR_FORBIDDEN',
        );
        // A method override is not honoured.
        const overridden = await bob.agent
          .post(`/aws/logins/${DEMO_PROVIDER}`)
          .set('X-HTTP-Method-Override', 'DELETE')
          .set(name, value);
        ledger.observe(overridden);
        assert.ok(overridden.status === 403 || overridden.status === 404, String(overridden.status));
      }
    });
    // The same requests without a cookie (bearer clients) are not cross-site requests.
    const ok = await request(s.app)
      .post('/aws/logins')
      .set('Origin', 'https://evil.example')
      .set('Authorization', `Bearer ${tok}`)
      .send({ provider: DEMO_PROVIDER, token });
    assert.equal(ok.status, 200, ok.text);
  });

  void it('refuses a cross-site login or guest request from a browser that has no cookie yet (login CSRF)', async () => {
    const cross: [string, string][] = [
      ['Origin', 'https://evil.example'],
      ['Origin', 'null'],
      ['Sec-Fetch-Site', 'cross-site'],
      ['Sec-Fetch-Site', 'same-site'],
    ];
    await noUpstream(async () => {
      for (const [name, value] of cross) {
        // A victim with no session yet: a cross-site form must not log them into the attacker's account.
        const json = await request(s.app)
          .post('/login')
          .set(name, value)
          .send({ username: 'alice', password: 'alice-demo-pass' });
        refused(json, 403, 'ERR_FORBIDDEN');
        assert.equal(json.headers['set-cookie'], undefined);
        const form = await request(s.app)
          .post('/login')
          .set(name, value)
          .type('form')
          .send('username=alice&password=alice-demo-pass');
        refused(form, 403, 'ERR_FORBIDDEN');
        assert.equal(form.headers['set-cookie'], undefined);
        const guest = await request(s.app).post('/aws/guest').set(name, value);
        refused(guest, 403, 'ERR_FORBIDDEN');
        assert.equal(guest.headers['set-cookie'], undefined);
      }
    });
    // Clients that send neither header (curl, the mobile example) and the page itself still log in.
    const plain = await request(s.app).post('/login').send({ username: 'alice', password: 'alice-demo-pass' });
    ledger.observe(plain);
    assert.equal(plain.status, 200, plain.text);
    const same = await request(s.app)
      .post('/login')
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ username: 'alice', password: 'alice-demo-pass' });
    ledger.observe(same);
    assert.equal(same.status, 200, same.text);
  });

  void it('never trusts an identity id sent by the client: body, query and headers move nothing', async () => {
    const victim = await login('alice', 'alice-demo-pass');
    const attacker = await login('bob', 'bob-demo-pass');
    const victimToken = s.emulator().mintProviderToken(DEMO_PROVIDER, 'victim-fb');
    ledger.add(victimToken);
    assert.equal(
      (await victim.agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: victimToken })).status,
      200,
    );
    const vid = encodeURIComponent(victim.identityId);
    const headers = {
      'X-Identity-Id': victim.identityId,
      'X-Amz-Identity-Id': victim.identityId,
      'X-User-Id': 'user-alice',
    };

    // Unlinking "the victim's" login unlinks the attacker's own (he has none); the victim keeps hers.
    const unlink = await attacker.agent
      .delete(`/aws/logins/${DEMO_PROVIDER}?identityId=${vid}&userId=user-alice`)
      .set(headers);
    ledger.observe(unlink);
    assert.deepEqual(((await victim.agent.get('/aws/identity')).body as { logins: string[] }).logins, [DEMO_PROVIDER]);
    // Linking with an identity id in the body links to the attacker's own identity.
    const own = s.emulator().mintProviderToken(DEMO_PROVIDER, 'attacker-fb');
    ledger.add(own);
    const link = await attacker.agent.post(`/aws/logins?identityId=${vid}`).set(headers).send({
      provider: DEMO_PROVIDER,
      token: own,
      identityId: victim.identityId,
      IdentityId: victim.identityId,
      userId: 'user-alice',
    });
    ledger.observe(link);
    assert.equal(link.status, 200, link.text);
    assert.equal((link.body as { identityId: string }).identityId, attacker.identityId);
    for (const path of ['/aws/token', '/aws/credentials', '/aws/identity']) {
      const res = await attacker.agent
        .get(`${path}?identityId=${vid}&IdentityId=${vid}&userId=user-alice`)
        .set(headers);
      ledger.observe(res);
      assert.equal((res.body as { identityId: string }).identityId, attacker.identityId, path);
    }
    assert.deepEqual(await usersOf(victim.identityId), ['user-alice']);
    assert.deepEqual(await usersOf(attacker.identityId), ['user-bob']);
  });

  void it('never lets a new user take an identity presented as a guest unless it really is a guest', async () => {
    // The victim has only her developer login: no public login, yet she is no guest.
    const victim = await login('bob', 'bob-demo-pass');
    s.emulator().resetCounters();
    // A user with no identity yet presents the victim's identity as "their guest identity", by body
    // (mobile) and after forging nothing else.
    const mobile = await request(s.app)
      .post('/api/tokens')
      .send({ username: 'fresh', password: 'fresh-demo-pass', guestIdentityId: victim.identityId });
    ledger.observe(mobile);
    assert.equal(mobile.status, 200, mobile.text);
    assert.notEqual((mobile.body as { identityId: string }).identityId, victim.identityId);
    assert.deepEqual(await usersOf(victim.identityId), ['user-bob']);
    // A real guest identity is upgraded.
    const agent = request.agent(s.app);
    const guest = await agent.post('/aws/guest');
    assert.equal(guest.status, 200);
    const guestId = (guest.body as { identityId: string }).identityId;
    const upgraded = await agent.post('/login').send({ username: 'fresh2', password: 'fresh2-demo-pass' });
    assert.equal((upgraded.body as { identityId: string }).identityId, guestId);
    assert.deepEqual(await usersOf(guestId), ['user-fresh-2']);
  });
});
