// Faults: the example app on a real broker and emulator while Cognito throttles, fails, answers
// too slowly, cannot be reached, and comes back. Every request ends in 200 or an upstream problem
// (429/5xx with a stable code) within the client's deadline; nothing crashes; no failure is cached;
// after recovery the next request succeeds.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import request, { type Response } from 'supertest';
import type { DemoUser } from '../../examples/express-app/users.js';
import type { FaultSpec } from '../../src/emulator/types.js';
import {
  DEMO_PROVIDER,
  hostileUsers,
  RAISED_LOGIN_LIMITS,
  startAppStack,
  type AppStack,
} from '../helpers/app-stack.js';
import { withCrashWatch } from '../helpers/crash-watch.js';
import { problemCode, UPSTREAM_FAILURE_CODES } from '../helpers/problem-assert.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

const BROKER_TIMEOUT_MS = 400;
/** The deadline every request must meet: far above the broker's timeout, far below the test's. */
const CLIENT_DEADLINE_MS = 15_000;

type Op = 'token' | 'credentials' | 'identity' | 'link' | 'unlink' | 'merge';
const OPS: readonly Op[] = ['token', 'credentials', 'identity', 'link', 'unlink', 'merge'];

let s: AppStack;
const ledger = new SecretLedger();
ledger.checkAfter(() => s.logText());
const users = hostileUsers(32);
let nextUser = 0;

function freshUser(): DemoUser {
  const u = users[nextUser++];
  assert.ok(u, 'enough users');
  return u;
}

async function login(u: DemoUser): Promise<string> {
  const res = await request(s.app)
    .post('/api/tokens')
    .send({ username: u.username, password: u.password })
    .timeout(CLIENT_DEADLINE_MS);
  ledger.observe(res);
  // The login never fails because of Cognito: warming the token is best effort.
  assert.equal(res.status, 200, res.text);
  const token = (res.body as { accessToken: string }).accessToken;
  ledger.add(token, `Bearer ${token}`);
  return token;
}

async function run(op: Op, bearer: string, u: DemoUser, partner?: DemoUser): Promise<Response> {
  const auth = `Bearer ${bearer}`;
  const agent = request(s.app);
  let req;
  switch (op) {
    case 'token':
    case 'credentials':
    case 'identity':
      req = agent.get(`/aws/${op}`);
      break;
    case 'link': {
      const providerToken = s.emulator().mintProviderToken(DEMO_PROVIDER, `fb-${u.username}`);
      ledger.add(providerToken);
      req = agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: providerToken });
      break;
    }
    case 'unlink':
      req = agent.delete(`/aws/logins/${DEMO_PROVIDER}`);
      break;
    case 'merge':
      assert.ok(partner, 'merge needs a partner');
      req = agent.post('/aws/merge').send({ username: partner.username, password: partner.password });
      break;
  }
  const res = await req.set('Authorization', auth).timeout(CLIENT_DEADLINE_MS);
  ledger.observe(res);
  return res;
}

/** 200, or a well-formed upstream problem; returns `status code` (or 'OK'). */
function outcome(res: Response): string {
  if (res.status === 200) return 'OK';
  const code = problemCode(res);
  assert.ok(res.status === 429 || res.status >= 500, `${res.status} ${code}`);
  assert.ok(UPSTREAM_FAILURE_CODES.has(code), `unexpected ${res.status} ${code}`);
  return `${res.status} ${code}`;
}

interface Phase {
  readonly name: string;
  /** Expected code for a call that had to reach Cognito. */
  readonly code: string;
  readonly status: number;
  readonly begin: () => Promise<void>;
  readonly end: () => Promise<void>;
}

const setFault = (spec: FaultSpec) => () => {
  s.emulator().setFault('*', spec);
  return Promise.resolve();
};
const clearFaults = () => {
  s.emulator().clearFaults();
  return Promise.resolve();
};

const PHASES: readonly Phase[] = [
  {
    name: 'throttling',
    code: 'ERR_COGNITO_THROTTLED',
    status: 503,
    begin: setFault({ error: 'TooManyRequestsException' }),
    end: clearFaults,
  },
  {
    name: 'InternalErrorException',
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    begin: setFault({ error: 'InternalErrorException' }),
    end: clearFaults,
  },
  {
    name: 'latency beyond the timeout',
    code: 'ERR_COGNITO_TIMEOUT',
    status: 504,
    begin: setFault({ latencyMs: BROKER_TIMEOUT_MS * 5 }),
    end: clearFaults,
  },
  {
    name: 'connection refused (emulator stopped)',
    code: 'ERR_COGNITO_UNAVAILABLE',
    status: 502,
    begin: () => s.stopEmulator(),
    end: () => s.restartEmulator(),
  },
];

void describe('faults through the example app', () => {
  before(async () => {
    s = await startAppStack({
      users,
      broker: { timeoutMs: BROKER_TIMEOUT_MS },
      app: { rateLimit: false, loginRateLimit: RAISED_LOGIN_LIMITS },
    });
  });
  after(async () => {
    await s.stop();
  });

  for (const phase of PHASES) {
    void it(`survives ${phase.name}: cached users served, others get ${phase.code}, no failure cached, recovery`, (t: TestContext) =>
      withCrashWatch(async () => {
        // A user who logged in while Cognito was healthy, with token and credentials cached.
        const warm = freshUser();
        const warmBearer = await login(warm);
        assert.equal((await run('token', warmBearer, warm)).status, 200);
        assert.equal((await run('credentials', warmBearer, warm)).status, 200);
        // A user who logs in during the fault, and the account they will merge.
        const cold = freshUser();
        const partner = freshUser();
        const statsBefore = s.broker.stats();

        await phase.begin();
        const coldBearer = await login(cold);
        const codes: Record<string, string> = {};
        for (const op of OPS) {
          codes[`cold ${op}`] = outcome(await run(op, coldBearer, cold, partner));
          codes[`warm ${op}`] = outcome(await run(op, warmBearer, warm, partner));
        }
        // An anonymous visitor asking for guest credentials needs Cognito too.
        const guest = await request(s.app).post('/aws/guest').timeout(CLIENT_DEADLINE_MS);
        ledger.observe(guest);
        codes.guest = outcome(guest);
        // The cached entries keep serving: no request waits on Cognito while a valid entry exists.
        assert.equal(codes['warm token'], 'OK');
        assert.equal(codes['warm credentials'], 'OK');
        // Everything that needed Cognito failed with the phase's code and status.
        const expected = `${phase.status} ${phase.code}`;
        for (const op of OPS) assert.equal(codes[`cold ${op}`], expected, `cold ${op}`);
        assert.equal(codes.guest, expected, 'guest');
        for (const op of ['identity', 'link', 'unlink', 'merge'])
          assert.equal(codes[`warm ${op}`], expected, `warm ${op}`);
        // No cache entry was born of a failure.
        const statsDuring = s.broker.stats();
        assert.equal(statsDuring.tokens.size, statsBefore.tokens.size);
        assert.equal(statsDuring.credentials.size, statsBefore.credentials.size);
        await phase.end();

        // Cognito is back: the next request of the user who saw only failures goes upstream and succeeds.
        s.emulator().resetCounters();
        const token = await run('token', coldBearer, cold);
        assert.equal(token.status, 200, token.text);
        assert.equal(s.emulator().counters().GetOpenIdTokenForDeveloperIdentity, 1, 'the failure was not cached');
        assert.equal((await run('credentials', coldBearer, cold)).status, 200);
        assert.equal((await run('link', coldBearer, cold)).status, 200);
        assert.equal((await run('unlink', coldBearer, cold)).status, 200);
        const merged = await run('merge', coldBearer, cold, partner);
        assert.equal(merged.status, 200, merged.text);
        assert.equal(
          (merged.body as { identityId: string }).identityId,
          (token.body as { identityId: string }).identityId,
        );
        assert.equal((await run('identity', warmBearer, warm)).status, 200);
        const guestAgain = await request(s.app).post('/aws/guest').timeout(CLIENT_DEADLINE_MS);
        ledger.observe(guestAgain);
        assert.equal(guestAgain.status, 200, guestAgain.text);
        t.diagnostic(`${phase.name}: ${JSON.stringify(codes)}`);
      }));
  }

  void it('a burst past the throttle ends in 200 or 503 ERR_COGNITO_THROTTLED, then everyone is served', (t: TestContext) =>
    withCrashWatch(async () => {
      const burst = Array.from({ length: 6 }, () => freshUser());
      const bearers = await Promise.all(burst.map((u) => login(u)));
      burst.forEach((u) => {
        s.broker.forgetUser(u.id);
      });
      s.emulator().setFault('GetOpenIdTokenForDeveloperIdentity', { throttleRps: 2 });
      const results = await Promise.all(bearers.map((b, i) => run('token', b, burst[i]!)));
      const codes = results.map(outcome);
      assert.ok(
        codes.every((c) => c === 'OK' || c === '503 ERR_COGNITO_THROTTLED'),
        codes.join(),
      );
      assert.ok(codes.includes('503 ERR_COGNITO_THROTTLED'), 'the throttle was hit');
      s.emulator().clearFaults();
      for (const [i, b] of bearers.entries()) assert.equal((await run('token', b, burst[i]!)).status, 200);
      t.diagnostic(`burst: ${codes.join(' ')}`);
    }));

  void it('under intermittent failures (a third of all calls), concurrent mixed requests end in 200 or an upstream problem', (t: TestContext) =>
    withCrashWatch(async () => {
      const group = Array.from({ length: 4 }, () => freshUser());
      const bearers = await Promise.all(group.map((u) => login(u)));
      s.emulator().setFault('*', { error: 'InternalErrorException', rate: 1 / 3 });
      const plan = Array.from({ length: 48 }, (_, n) => ({ i: n % group.length, op: OPS[(n * 7) % OPS.length]! }));
      const seen: Record<string, number> = {};
      // One request per user at a time (their link state is a sequence), all users at once.
      await Promise.all(
        group.map(async (u, i) => {
          for (const p of plan.filter((x) => x.i === i)) {
            const res = await run(p.op, bearers[i]!, u, group[(i + 1) % group.length]);
            const key =
              res.status === 200
                ? 'OK'
                : res.status < 500 && res.status !== 429
                  ? `${res.status} ${problemCode(res)}`
                  : outcome(res);
            seen[key] = (seen[key] ?? 0) + 1;
          }
        }),
      );
      s.emulator().clearFaults();
      // Only semantic refusals may be 4xx: a link of an identity that already has the login, a merge
      // of users already merged.
      for (const k of Object.keys(seen))
        assert.ok(
          k === 'OK' || /^(5\d\d|429) ERR_COGNITO_/.test(k) || k === '409 ERR_CONFLICT' || k === '400 ERR_BAD_REQUEST',
          k,
        );
      assert.ok((seen['502 ERR_COGNITO_UNAVAILABLE'] ?? 0) > 0, 'faults were injected');
      for (const [i, b] of bearers.entries()) {
        const res = await run('token', b, group[i]!);
        assert.equal(res.status, 200, res.text);
      }
      t.diagnostic(`intermittent: ${JSON.stringify(seen)}`);
    }));

  void it('a client that hangs up during a slow Cognito call leaves no unhandled rejection, and the next request succeeds', () =>
    withCrashWatch(async () => {
      const u = freshUser();
      const bearerToken = await login(u);
      s.broker.forgetUser(u.id);
      s.emulator().setFault('*', { latencyMs: BROKER_TIMEOUT_MS * 3 });
      const hungUp = await Promise.allSettled(
        ['token', 'credentials', 'identity'].map((op) =>
          request(s.app)
            .get(`/aws/${op}`)
            .set('Authorization', `Bearer ${bearerToken}`)
            .timeout(BROKER_TIMEOUT_MS / 4),
        ),
      );
      assert.ok(
        hungUp.every((r) => r.status === 'rejected'),
        'the client gave up first',
      );
      // The broker's own timeout ends the abandoned Cognito calls (each end writes a log line).
      await s.logs.until(() => s.broker.stats().inFlight === 0);
      s.emulator().clearFaults();
      const res = await run('credentials', bearerToken, u);
      assert.equal(res.status, 200, res.text);
    }));
});
