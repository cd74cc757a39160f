// Isolation: many users with ids hostile to cache keys (separators, quotes, unicode, 1024 chars)
// run random interleaved logins, token and credential reads, links, unlinks, merges and logouts
// through the example app. Every identity id, token and credential a user receives is checked
// against the emulator's truth (LookupDeveloperIdentity, the token's claims, the identity the
// session token was issued for): nobody ever receives another user's identity.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { LookupDeveloperIdentityCommand } from '@aws-sdk/client-cognito-identity';
import fc from 'fast-check';
import request, { type Response } from 'supertest';
import { createBroker } from '../../src/broker/create-broker.js';
import { describeSessionToken, startEmulator } from '../../src/emulator/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import {
  DEMO_POOL,
  DEMO_PROVIDER,
  hostileUsers,
  RAISED_LOGIN_LIMITS,
  startAppStack,
  type AppStack,
} from '../helpers/app-stack.js';
import { withCrashWatch } from '../helpers/crash-watch.js';
import { problemCode } from '../helpers/problem-assert.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

const SEED = Number(process.env.ISOLATION_SEED ?? 20_261_122);
const RUNS = Number(process.env.ISOLATION_RUNS ?? 4);
const ACTIONS = Number(process.env.ISOLATION_ACTIONS ?? 120);
const USERS = 12;

type Agent = ReturnType<typeof request.agent>;
type Kind =
  'login' | 'token' | 'credentials' | 'identity' | 'link' | 'linkOthers' | 'unlink' | 'merge' | 'logout' | 'burst';

const action = fc.record({
  kind: fc.constantFrom<Kind>(
    'login',
    'token',
    'token',
    'credentials',
    'credentials',
    'identity',
    'link',
    'linkOthers',
    'unlink',
    'merge',
    'logout',
    'burst',
  ),
  user: fc.nat({ max: USERS - 1 }),
  other: fc.nat({ max: USERS - 1 }),
});

const ledger = new SecretLedger();
ledger.checkAfter(() => logText);
const counts: Record<string, number> = {};
let logText = '';

function jwtClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function runSequence(actions: readonly { kind: Kind; user: number; other: number }[]): Promise<void> {
  const users = hostileUsers(USERS);
  const s: AppStack = await startAppStack({ users, app: { rateLimit: false, loginRateLimit: RAISED_LOGIN_LIMITS } });
  const truthClient = emulatorClient(s.emulator());
  const agents = new Map<number, Agent>();
  const linkedSubject = new Map<number, string>();
  const keyOwner = new Map<string, string>();
  const history: string[] = [];
  let linkSerial = 0;
  /** The emulator's truth: the identity a developer user is on, or null. */
  const truth = async (i: number): Promise<string | null> => {
    try {
      const out = await truthClient.send(
        new LookupDeveloperIdentityCommand({
          IdentityPoolId: s.identityPoolId,
          DeveloperUserIdentifier: users[i]!.id,
          MaxResults: 1,
        }),
      );
      return out.IdentityId ?? null;
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return null;
      throw err;
    }
  };
  const agentOf = async (i: number): Promise<Agent> => {
    let a = agents.get(i);
    if (a !== undefined) return a;
    a = request.agent(s.app);
    const res = await a.post('/login').send({ username: users[i]!.username, password: users[i]!.password });
    ledger.observe(res);
    assert.equal(res.status, 200, res.text);
    const got = (res.body as { identityId: string | null }).identityId;
    assert.equal(got, await truth(i), 'login answers the user’s own identity');
    agents.set(i, a);
    return a;
  };
  /** Checks one answer of user `i` against the emulator's truth. */
  const check = async (i: number, path: string, res: Response): Promise<void> => {
    ledger.observe(res);
    const key = `${path} ${res.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (res.status !== 200) {
      problemCode(res);
      return;
    }
    const expected = await truth(i);
    const body = res.body as Record<string, unknown>;
    assert.equal(body.identityId, expected, `${path}: identity of user ${i}`);
    if (typeof body.token === 'string') {
      const claims = jwtClaims(body.token);
      assert.equal(claims.sub, expected);
      assert.equal(claims.aud, s.identityPoolId);
      const amr = claims.amr as string[];
      assert.ok(
        amr.includes(
          `${DEMO_POOL.developerProviderName}:${s.emulator().region}:${s.identityPoolId.split(':')[1]!}:${users[i]!.id}`,
        ),
        'token minted for this user',
      );
    }
    if (typeof body.sessionToken === 'string') {
      const info = describeSessionToken(body.sessionToken);
      assert.ok(info !== undefined, 'an emulator session token');
      assert.equal(info.identityId, expected, 'credentials of this user’s identity');
      assert.equal(info.roleArn, s.emulator().pools[0]!.roles.authenticated, 'the authenticated role');
      // One access key belongs to one identity for the whole run.
      const owner = keyOwner.get(body.accessKeyId as string);
      assert.ok(owner === undefined || owner === info.identityId, 'an access key never changes identity');
      keyOwner.set(body.accessKeyId as string, info.identityId);
    }
  };

  try {
    // Distinct users have distinct identities, however alike their ids look.
    const first = await Promise.all(
      users.map(async (_, i) => (await (await agentOf(i)).get('/aws/token')).body as { identityId: string }),
    );
    assert.equal(new Set(first.map((b) => b.identityId)).size, USERS, 'one identity per user');

    for (const { kind, user, other } of actions) {
      history.push(`${kind} ${user} ${other}`);
      if (kind === 'login') {
        agents.delete(user);
        await agentOf(user);
        continue;
      }
      if (kind === 'burst') {
        // Cold caches, every user at once: single-flight must never hand one user another's result.
        for (let i = 0; i < USERS; i += 1) s.broker.forgetUser(users[i]!.id);
        const all = await Promise.all(
          users.map(async (_, i) => {
            const a = await agentOf(i);
            return Promise.all([a.get('/aws/credentials'), a.get('/aws/token')]);
          }),
        );
        for (const [i, [c, t]] of all.entries()) {
          await check(i, '/aws/credentials', c);
          await check(i, '/aws/token', t);
        }
        continue;
      }
      const a = await agentOf(user);
      switch (kind) {
        case 'token':
        case 'credentials':
        case 'identity':
          await check(user, `/aws/${kind}`, await a.get(`/aws/${kind}`));
          break;
        case 'link': {
          const subject = `fb-${user}-${(linkSerial += 1)}`;
          const providerToken = s.emulator().mintProviderToken(DEMO_PROVIDER, subject);
          ledger.add(providerToken);
          const res = await a.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: providerToken });
          await check(user, '/aws/logins', res);
          if (res.status === 200) linkedSubject.set(user, subject);
          break;
        }
        case 'linkOthers': {
          // A login linked to another person's identity is never handed over.
          const theirs = linkedSubject.get(other);
          if (theirs === undefined || (await truth(other)) === (await truth(user))) break;
          const providerToken = s.emulator().mintProviderToken(DEMO_PROVIDER, theirs);
          ledger.add(providerToken);
          const res = await a.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: providerToken });
          ledger.observe(res);
          assert.equal(res.status, 409, res.text);
          assert.equal(problemCode(res), 'ERR_CONFLICT');
          break;
        }
        case 'unlink':
          await check(user, '/aws/logins/:provider', await a.delete(`/aws/logins/${DEMO_PROVIDER}`));
          {
            // The login left the identity, whichever of the users on it linked it.
            const mine = await truth(user);
            for (const j of [...linkedSubject.keys()]) if ((await truth(j)) === mine) linkedSubject.delete(j);
          }
          break;
        case 'merge': {
          if (other === user) break;
          const before = await truth(user);
          const res = await a
            .post('/aws/merge')
            .send({ username: users[other]!.username, password: users[other]!.password });
          ledger.observe(res);
          counts[`/aws/merge ${res.status}`] = (counts[`/aws/merge ${res.status}`] ?? 0) + 1;
          if (res.status === 200) {
            assert.equal((res.body as { identityId: string }).identityId, before);
            assert.equal(await truth(other), before, 'the source user now shares the destination identity');
          } else {
            problemCode(res);
          }
          // Both users read their identity at once: each gets exactly the emulator's truth.
          await check(user, '/aws/identity', await a.get('/aws/identity'));
          await check(other, '/aws/credentials', await (await agentOf(other)).get('/aws/credentials'));
          break;
        }
        case 'logout': {
          const res = await a.post('/logout');
          assert.equal(res.status, 204);
          agents.delete(user);
          const after = await a.get('/aws/credentials');
          ledger.observe(after);
          assert.equal(after.status, 401, 'logged out');
          break;
        }
      }
    }
  } catch (err) {
    throw new Error(`after ${history.join(', ')}`, { cause: err });
  } finally {
    logText += s.logText();
    truthClient.destroy();
    await s.stop();
  }
}

void describe('isolation between users', () => {
  void it('never hands a user another user’s identity, token or credentials under random interleavings', (t: TestContext) =>
    withCrashWatch(async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: ACTIONS, maxLength: ACTIONS }), async (actions) => {
          runs += 1;
          try {
            await runSequence(actions);
          } catch (err) {
            t.diagnostic(`${(err as Error).message}: ${String(((err as Error).cause as Error | undefined)?.message)}`);
            throw err;
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      t.diagnostic(`runs: ${runs} × ${ACTIONS} actions; answers by route and status: ${JSON.stringify(counts)}`);
    }));

  void it('keeps pools, providers and users apart: the same user id in two pools gets two identities', async () => {
    const emu = await startEmulator({
      seed: [
        { name: 'pool-a', developerProviderName: 'login.a' },
        { name: 'pool-b', developerProviderName: 'login.a.b' },
      ],
    });
    const client = emulatorClient(emu);
    try {
      const [a, b] = emu.pools.map((p) =>
        createBroker({ identityPoolId: p.identityPoolId, developerProviderName: p.developerProviderName!, client }),
      );
      const ids = ['u', 'b|u', 'login.a.b', 'login.a', '"]', 'ü', 'x'.repeat(1024)];
      const seen = new Map<string, string>();
      for (const id of ids) {
        for (const [broker, pool] of [
          [a!, emu.pools[0]!],
          [b!, emu.pools[1]!],
        ] as const) {
          const tok = await broker.getToken(id);
          const claims = jwtClaims(tok.token);
          assert.equal(claims.aud, pool.identityPoolId);
          assert.equal(claims.sub, tok.identityId);
          const amr = claims.amr as string[];
          assert.ok(
            amr.at(-1)?.endsWith(`:${id}`) && amr.at(-1)?.startsWith(`${pool.developerProviderName!}:`),
            'amr names this pool’s provider and this user',
          );
          const creds = await broker.getCredentials(id);
          assert.equal(describeSessionToken(creds.sessionToken)?.identityId, tok.identityId);
          const key = `${pool.identityPoolId} ${id}`;
          assert.ok(![...seen.values()].includes(tok.identityId), `identity of ${key} is unique`);
          seen.set(key, tok.identityId);
        }
      }
      assert.equal(new Set(seen.values()).size, ids.length * 2);
    } finally {
      client.destroy();
      await emu.stop();
    }
  });
});
