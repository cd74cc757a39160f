// Soak: a bounded load of logins, credential and token reads, links, unlinks and logouts through
// the example app on a real broker and emulator, with a cache bound smaller than the user count.
// Every operation succeeds and is accounted for (the emulator's ListIdentities,
// LookupDeveloperIdentity and DescribeIdentity match the sequence of successful operations, and
// the broker's upstream call counts match the emulator's), the caches stay within their bound,
// the heap does not grow with the load, and no handle outlives the run.
// SOAK_SECONDS sets the duration: 15 s by default, 60 s in .ci/run.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  CognitoIdentityClient,
  DescribeIdentityCommand,
  ListIdentitiesCommand,
  LookupDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import request from 'supertest';
import {
  DEMO_PROVIDER,
  hostileUsers,
  RAISED_LOGIN_LIMITS,
  startAppStack,
  type AppStack,
} from '../helpers/app-stack.js';
import { settle } from '../helpers/broker-fixture.js';
import { withCrashWatch } from '../helpers/crash-watch.js';
import { SecretLedger } from '../helpers/secret-ledger.js';

const SOAK_MS = Number(process.env.SOAK_SECONDS ?? 15) * 1000;
const CACHE_MAX = 48;
const USER_COUNT = 160;
const WORKERS = 8;
/** Heap growth allowed between the warmed-up start and the end, after a full GC. */
const HEAP_GROWTH_BYTES = 16 * 1024 * 1024;

type Agent = ReturnType<typeof request.agent>;
type Op = 'login' | 'credentials' | 'token' | 'link' | 'unlink' | 'logout';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function resourceCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

interface UserState {
  agent?: Agent;
  identityId?: string;
  linkedSubject?: string;
  busy: boolean;
}

let s: AppStack;
let server: Server;
let base = '';
let truthClient: CognitoIdentityClient;
const ledger = new SecretLedger();
ledger.checkAfter(() => s.logText());
const users = hostileUsers(USER_COUNT);
const state = users.map((): UserState => ({ busy: false }));
const done: Record<Op, number> = { login: 0, credentials: 0, token: 0, link: 0, unlink: 0, logout: 0 };
let serial = 0;
let resourcesBefore: Record<string, number> = {};

async function loggedIn(i: number): Promise<Agent> {
  const st = state[i]!;
  if (st.agent !== undefined) return st.agent;
  const agent = request.agent(base);
  const res = await agent.post('/login').send({ username: users[i]!.username, password: users[i]!.password });
  ledger.observe(res);
  assert.equal(res.status, 200, `login: ${res.text}`);
  const identityId = (res.body as { identityId: string | null }).identityId;
  assert.ok(typeof identityId === 'string', 'the login warmed the token');
  if (st.identityId !== undefined) assert.equal(identityId, st.identityId, 'a user keeps one identity');
  st.identityId = identityId;
  st.agent = agent;
  done.login += 1;
  return agent;
}

async function step(i: number, op: Op): Promise<void> {
  const st = state[i]!;
  const agent = await loggedIn(i);
  switch (op) {
    case 'login':
      return;
    case 'credentials':
    case 'token': {
      const res = await agent.get(`/aws/${op}`);
      ledger.observe(res);
      assert.equal(res.status, 200, `${op}: ${res.text}`);
      assert.equal((res.body as { identityId: string }).identityId, st.identityId);
      break;
    }
    case 'link': {
      if (st.linkedSubject !== undefined) return;
      const subject = `soak-${i}-${(serial += 1)}`;
      const token = s.emulator().mintProviderToken(DEMO_PROVIDER, subject);
      ledger.add(token);
      const res = await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token });
      ledger.observe(res);
      assert.equal(res.status, 200, `link: ${res.text}`);
      st.linkedSubject = subject;
      break;
    }
    case 'unlink': {
      if (st.linkedSubject === undefined) return;
      const res = await agent.delete(`/aws/logins/${DEMO_PROVIDER}`);
      ledger.observe(res);
      assert.equal(res.status, 200, `unlink: ${res.text}`);
      st.linkedSubject = undefined;
      break;
    }
    case 'logout': {
      const res = await agent.post('/logout');
      assert.equal(res.status, 204, `logout: ${res.text}`);
      st.agent = undefined;
      break;
    }
  }
  done[op] += 1;
}

const OPS: readonly [Op, number][] = [
  ['credentials', 40],
  ['token', 25],
  ['link', 10],
  ['unlink', 10],
  ['logout', 10],
  ['login', 5],
];

function pickOp(r: number): Op {
  let acc = 0;
  for (const [op, w] of OPS) {
    acc += w / 100;
    if (r < acc) return op;
  }
  return 'credentials';
}

async function worker(
  seed: number,
  deadline: number,
  samples: { tokens: number; credentials: number }[],
): Promise<void> {
  const rnd = prng(seed);
  while (Date.now() < deadline) {
    // Each user is driven by one worker at a time, so the model of its state stays exact.
    let i = Math.floor(rnd() * USER_COUNT);
    while (state[i]!.busy) i = (i + 1) % USER_COUNT;
    state[i]!.busy = true;
    try {
      await step(i, pickOp(rnd()));
    } finally {
      state[i]!.busy = false;
    }
    const st = s.broker.stats();
    samples.push({ tokens: st.tokens.size, credentials: st.credentials.size });
  }
}

void describe(`soak (${SOAK_MS / 1000} s)`, () => {
  before(async () => {
    gc();
    resourcesBefore = resourceCounts();
    s = await startAppStack({
      users,
      broker: { cache: { max: CACHE_MAX } },
      app: { rateLimit: false, loginRateLimit: RAISED_LOGIN_LIMITS },
    });
    server = s.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    truthClient = new CognitoIdentityClient({
      region: s.emulator().region,
      endpoint: s.emulator().endpoint,
      credentials: { accessKeyId: 'AKIDTRUTH', secretAccessKey: 'truth-secret' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    truthClient.destroy();
    await new Promise((r) => server.close(r));
    server.closeAllConnections();
    await s.stop();
  });

  void it('keeps serving under load within the cache bound and without heap growth', (t: TestContext) =>
    withCrashWatch(async () => {
      // Warm up a third of the time, then measure the heap over the rest.
      const samples: { tokens: number; credentials: number }[] = [];
      const start = Date.now();
      const warm = start + SOAK_MS / 3;
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(1000 + w, warm, samples)));
      gc();
      // The in-memory log capture and the secret ledger grow with the load by design: count them
      // apart (pino writes ASCII JSON and the secrets are ASCII: a byte a char).
      const testMemory = (): number => s.logChars() + ledger.chars;
      const heapWarm = process.memoryUsage().heapUsed - testMemory();
      const end = start + SOAK_MS;
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(2000 + w, end, samples)));
      gc();
      const heapEnd = process.memoryUsage().heapUsed - testMemory();
      const total = Object.values(done).reduce((a, b) => a + b, 0);
      t.diagnostic(
        `soak operations: ${total} ${JSON.stringify(done)}; heap without the test's own log capture and ledger: warm ${(heapWarm / 1e6).toFixed(1)} MB, end ${(heapEnd / 1e6).toFixed(1)} MB; log capture and ledger ${(testMemory() / 1e6).toFixed(1)} M chars; ` +
          `max cache sizes ${Math.max(...samples.map((x) => x.tokens))}/${Math.max(...samples.map((x) => x.credentials))} of ${CACHE_MAX}; ` +
          `evictions ${s.broker.stats().tokens.evictions}/${s.broker.stats().credentials.evictions}`,
      );
      assert.ok(total > 100, `a real load: ${total} operations`);
      assert.ok(
        samples.every((x) => x.tokens <= CACHE_MAX && x.credentials <= CACHE_MAX),
        'caches within their bound',
      );
      assert.ok(s.broker.stats().tokens.evictions > 0, 'the bound was reached and enforced');
      assert.ok(heapEnd - heapWarm < HEAP_GROWTH_BYTES, `heap grew by ${heapEnd - heapWarm} bytes`);
    }));

  void it('accounts for every operation: the emulator’s state is what the successful operations made', async () => {
    // Every upstream call the broker made reached the emulator (before this test's own calls), and none failed.
    const stats = s.broker.stats();
    const counters = s.emulator().counters();
    for (const [op, n] of Object.entries(stats.upstreamCalls)) assert.equal(counters[op], n, `${op} calls`);
    assert.deepEqual(
      Object.entries(stats.upstreamErrors).filter(([, n]) => n > 0),
      [],
      'no upstream errors',
    );
    assert.deepEqual(
      Object.keys(counters).sort(),
      Object.keys(stats.upstreamCalls).sort(),
      'no call the broker did not make',
    );
    // Every user who ever logged in has exactly the identity the model recorded, and nobody else has one.
    const listed = new Set<string>();
    let nextToken: string | undefined;
    do {
      const page = await truthClient.send(
        new ListIdentitiesCommand({ IdentityPoolId: s.identityPoolId, MaxResults: 60, NextToken: nextToken }),
      );
      for (const ident of page.Identities ?? []) listed.add(ident.IdentityId!);
      nextToken = page.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    const modelled = state.filter((st) => st.identityId !== undefined);
    assert.equal(listed.size, modelled.length, 'one identity per user who logged in, no more');
    for (const [i, st] of state.entries()) {
      if (st.identityId === undefined) continue;
      assert.ok(listed.has(st.identityId), `identity of user ${i} listed`);
      const lookup = await truthClient.send(
        new LookupDeveloperIdentityCommand({
          IdentityPoolId: s.identityPoolId,
          DeveloperUserIdentifier: users[i]!.id,
          MaxResults: 1,
        }),
      );
      assert.equal(lookup.IdentityId, st.identityId, `lookup of user ${i}`);
      const described = await truthClient.send(new DescribeIdentityCommand({ IdentityId: st.identityId }));
      assert.equal(
        (described.Logins ?? []).includes(DEMO_PROVIDER),
        st.linkedSubject !== undefined,
        `linked logins of user ${i}`,
      );
    }
  });
});

void describe('soak: handles', () => {
  void it('leaves no handle behind once the stack is stopped', async () => {
    // Runs after the soak suite's after() hook: sockets, servers and timers are gone once their
    // close callbacks have run (a few event-loop turns).
    await settle();
    const now = resourceCounts();
    for (const kind of ['TCPServerWrap', 'TCPSocketWrap', 'FSReqCallback', 'FileHandle']) {
      assert.ok(
        (now[kind] ?? 0) <= (resourcesBefore[kind] ?? 0),
        `${kind}: ${now[kind] ?? 0} now, ${resourcesBefore[kind] ?? 0} before`,
      );
    }
  });
});
