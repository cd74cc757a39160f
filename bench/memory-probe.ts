// The memory figure, in a child started with --expose-gc: a broker over the real-sized fake Cognito,
// filled with N users' tokens and credentials; memory after full GC, per user: the JS heap plus the
// buffers outside it (the broker keeps tokens and credentials in buffers: src/broker/offheap.ts).
import { createBroker } from '../src/index.js';
import { offsetClock } from './lib/clock.js';
import { fakeCognito } from './lib/fake-cognito.js';
import { serveParent } from './lib/ipc.js';
import { userId } from './lib/users.js';

/** What `run` reports. */
export interface MemoryReport {
  readonly users: number;
  readonly max: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
  /** Heap + off-heap buffers (`arrayBuffers`), per user. */
  readonly bytesPerUser: number;
  readonly heapBytesPerUser: number;
  readonly bufferBytesPerUser: number;
  /** Characters of one user's token and credential strings (the payload). */
  readonly payloadChars: number;
  readonly tokenChars: number;
  readonly sessionTokenChars: number;
  /** Largest size either cache reached while filling past `max`. */
  readonly largestSize: number;
  readonly evictions: number;
  readonly upstreamCalls: Record<string, number>;
}

const POOL = 'us-east-1:0f0e0d0c-0b0a-4999-8888-777766665555';
const PROVIDER = 'login.bench.app';

function fullGc(): { heap: number; buffers: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

async function run({ users, extra }: { users: number; extra: number }): Promise<MemoryReport> {
  const clock = offsetClock();
  const fake = fakeCognito({ clock, identityPoolId: POOL, developerProviderName: PROVIDER });
  const broker = createBroker({
    identityPoolId: POOL,
    developerProviderName: PROVIDER,
    client: fake.client,
    clock,
    cache: { max: users },
    // Users load as fast as the fake answers: the operation buckets would make this take minutes.
    // The per-user budgets stay on, so their buckets are in the memory measured.
    quota: { operations: { GetOpenIdTokenForDeveloperIdentity: false, GetCredentialsForIdentity: false } },
  });
  // Warm the code paths (and their lazily built structures) with one user, then forget it.
  const sample = await broker.getCredentials('warm-up-user');
  const token = await broker.getToken('warm-up-user');
  broker.forgetUser('warm-up-user');
  const before = fullGc();
  let largestSize = 0;
  const fill = async (from: number, to: number): Promise<void> => {
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to) {
        const i = next++;
        await broker.getCredentials(userId(i));
        if (i % 1000 === 0) {
          const s = broker.stats();
          largestSize = Math.max(largestSize, s.tokens.size, s.credentials.size);
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
  };
  await fill(0, users);
  const after = fullGc();
  await fill(users, users + extra);
  const s = broker.stats();
  largestSize = Math.max(largestSize, s.tokens.size, s.credentials.size);
  return {
    users,
    max: users,
    heapBefore: before.heap,
    heapAfter: after.heap,
    bytesPerUser: (after.heap + after.buffers - before.heap - before.buffers) / users,
    heapBytesPerUser: (after.heap - before.heap) / users,
    bufferBytesPerUser: (after.buffers - before.buffers) / users,
    payloadChars:
      token.token.length +
      token.identityId.length +
      sample.accessKeyId.length +
      sample.secretAccessKey.length +
      sample.sessionToken.length,
    tokenChars: token.token.length,
    sessionTokenChars: sample.sessionToken.length,
    largestSize,
    evictions: s.tokens.evictions + s.credentials.evictions,
    upstreamCalls: { ...s.upstreamCalls },
  };
}

serveParent(
  {
    run,
    stop: () => {
      setTimeout(() => process.exit(0), 20);
    },
  },
  { pid: process.pid },
);
