// `npm run bench`: every figure of BENCHMARKS.md, measured side by side in one run. The servers under
// test (the example app with the broker, and the emulator) run in child processes on 127.0.0.1:0;
// autocannon runs here. Prints the table and writes it to bench/results/latest.md.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AppServerStats } from './app-server.js';
import type { EmulatorReady } from './emulator-server.js';
import { fleetFigures, killRedisServers } from './fleet.js';
import { scopedFigures } from './scoped.js';
import type { ClockSetting } from './lib/clock.js';
import { inclusiveShare } from './lib/cpuprofile.js';
import { forkChild, liveChildren, type Child } from './lib/ipc.js';
import { runBurst } from './lib/burst.js';
import { check, failures, getAll, latenciesBetween, login, loginAll, runLoad, type LoadResult } from './lib/load.js';
import { CONNECTIONS, CREDENTIALS_PATH, log, QUICK, QUOTA_RPS, ROUND_SECONDS, ROUNDS, type Row } from './lib/report.js';
import { fmt, fmtSpread, percentile, sortedCopy, spread, sum } from './lib/stats.js';
import { BASELINE_PATH } from './lib/users.js';
import type { MemoryReport } from './memory-probe.js';
import type { DriverPhase } from './sdk-driver.js';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const rows: Row[] = [];
const notes: string[] = [];

interface Stack {
  readonly emulator: Child<EmulatorReady> | undefined;
  readonly app: Child<{ port: number }>;
  readonly port: number;
  stats(): Promise<AppServerStats>;
  counters(): Promise<Record<string, number>>;
  /** Sets both clocks (broker and emulator). */
  setClock(setting: ClockSetting): Promise<void>;
  stop(): Promise<void>;
}

async function startEmulatorChild(nodeArgs: readonly string[] = []): Promise<Child<EmulatorReady>> {
  return forkChild<EmulatorReady>('emulator-server.ts', {}, nodeArgs);
}

async function startStack(o: {
  users: number;
  upstream: 'emulator' | 'fake';
  cacheMax?: number;
  nodeArgs?: readonly string[];
  /** Register the real OpenTelemetry SDK in the app process (see AppServerConfig.otel). */
  otel?: boolean;
}): Promise<Stack> {
  const emulator = o.upstream === 'emulator' ? await startEmulatorChild() : undefined;
  const pool = emulator?.ready ?? {
    identityPoolId: 'us-east-1:0f0e0d0c-0b0a-4999-8888-777766665555',
    developerProviderName: 'login.bench.app',
  };
  // BENCH_PROF=app profiles the app process (written to bench/results/profiles/app on stop).
  const prof =
    process.env.BENCH_PROF === 'app' ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS, 'profiles', 'app')}`] : [];
  // An app that fails to start must not leave its emulator running (nor the bench waiting on it).
  const app = await forkChild<{ port: number }>(
    'app-server.ts',
    {
      users: o.users,
      upstream: emulator === undefined ? 'fake' : { endpoint: emulator.ready.endpoint, region: emulator.ready.region },
      identityPoolId: pool.identityPoolId,
      developerProviderName: pool.developerProviderName,
      ...(o.cacheMax === undefined ? {} : { cacheMax: o.cacheMax }),
      ...(o.otel === true ? { otel: true } : {}),
    },
    [...prof, ...(o.nodeArgs ?? [])],
  ).catch(async (err: unknown) => {
    await emulator?.stop();
    throw err;
  });
  return {
    emulator,
    app,
    port: app.ready.port,
    stats: () => app.call<AppServerStats>('stats'),
    counters: async () =>
      emulator === undefined ? ((await app.call<AppServerStats>('stats')).fake ?? {}) : emulator.call('counters'),
    async setClock(setting) {
      await Promise.all([app.call('setClock', setting), emulator?.call('setClock', setting)]);
    },
    async stop() {
      await app.stop();
      await emulator?.stop();
    },
  };
}

async function withStack<T>(o: Parameters<typeof startStack>[0], fn: (s: Stack) => Promise<T>): Promise<T> {
  const stack = await startStack(o);
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Hot-path overhead: GET /aws/credentials (warm) vs the baseline route, same app, same middleware.

async function hotPath(): Promise<{ capacity: number }> {
  const users = 1000;
  return withStack({ users, upstream: 'emulator' }, async (s) => {
    log(`hot path: logging ${users} users in`);
    const cookies = await loginAll(s.port, users);
    const body = (await getAll(s.port, CREDENTIALS_PATH, cookies)) as Record<string, string>;
    await s.app.call('setBaselineBody', body);
    const load = (path: string, duration: number) =>
      runLoad({ port: s.port, path, cookies, connections: CONNECTIONS, duration });
    log('hot path: warm-up');
    check(await load(CREDENTIALS_PATH, ROUND_SECONDS), 'warm-up');
    check(await load(`/aws${BASELINE_PATH}`, ROUND_SECONDS), 'warm-up');
    const before = await s.stats();
    const rps: number[] = [];
    const p99: number[] = [];
    const rpsA: number[] = [];
    const cpuRatio: number[] = [];
    const detail: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so that neither side always runs first.
      const order = round % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
      const res: Record<string, LoadResult> = {};
      const cpuPerRequest: Record<string, number> = {};
      for (const side of order) {
        const c0 = await s.app.call<NodeJS.CpuUsage>('cpu');
        const r = await load(side === 'a' ? CREDENTIALS_PATH : `/aws${BASELINE_PATH}`, ROUND_SECONDS);
        const c1 = await s.app.call<NodeJS.CpuUsage>('cpu');
        check(r, `hot path ${side}`);
        res[side] = r;
        cpuPerRequest[side] = (c1.user + c1.system - c0.user - c0.system) / r.requests;
      }
      const a = res.a!;
      const b = res.b!;
      rps.push(a.rps / b.rps);
      p99.push(a.p99 / b.p99);
      rpsA.push(a.rps);
      cpuRatio.push(cpuPerRequest.a! / cpuPerRequest.b!);
      detail.push(
        `${fmt(a.rps, 0)}/${fmt(b.rps, 0)} req/s, p99 ${fmt(a.p99)}/${fmt(b.p99)} ms, app CPU ${fmt(cpuPerRequest.a!, 0)}/${fmt(cpuPerRequest.b!, 0)} µs per request`,
      );
      log(`hot path round ${round + 1}: credentials ${detail[detail.length - 1]!} (credentials/baseline)`);
    }
    const after = await s.stats();
    const misses = after.broker.credentials.misses - before.broker.credentials.misses;
    const t = spread(rps);
    const p = spread(p99);
    rows.push({
      figure: 'hot-path overhead: throughput',
      how: `GET /aws/credentials (warm, ${users} users) ÷ baseline route of the same size behind the same session + passport + router; ${CONNECTIONS} connections, ${ROUNDS} × ${ROUND_SECONDS} s`,
      measured: fmtSpread(t),
      goal: '≥ 0.95',
      pass: t.median >= 0.95,
    });
    rows.push({
      figure: 'hot-path overhead: p99',
      how: 'same rounds, p99 latency ratio',
      measured: fmtSpread(p),
      goal: '≤ 1.10',
      pass: p.median <= 1.1,
    });
    const cpu = spread(cpuRatio);
    rows.push({
      figure: 'hot-path overhead: CPU',
      how: 'same rounds, CPU time of the app process per request (less sensitive to other load on the machine)',
      measured: fmtSpread(cpu),
      goal: 'reported',
      pass: undefined,
    });
    notes.push(
      `hot path rounds (credentials/baseline): ${detail.join('; ')}; credential cache misses during the rounds: ${misses}`,
    );
    return { capacity: percentile(Float64Array.from(rpsA).sort(), 50) };
  });
}

// 1b. The hot path with the OpenTelemetry SDK registered vs none: two app processes, the same load.

async function hotPathOtel(): Promise<void> {
  const users = 1000;
  await withStack({ users, upstream: 'emulator' }, async (plain) => {
    await withStack({ users, upstream: 'emulator', otel: true }, async (otel) => {
      log(`hot path with OpenTelemetry: logging ${users} users in, twice`);
      const sides = { none: plain, otel };
      const cookies: Record<string, string[]> = {};
      for (const [name, s] of Object.entries(sides)) {
        cookies[name] = await loginAll(s.port, users);
        const body = (await getAll(s.port, CREDENTIALS_PATH, cookies[name])) as Record<string, string>;
        await s.app.call('setBaselineBody', body);
      }
      const load = (side: 'none' | 'otel', path: string, duration: number) =>
        runLoad({ port: sides[side].port, path, cookies: cookies[side]!, connections: CONNECTIONS, duration });
      log('hot path with OpenTelemetry: warm-up');
      for (const side of ['none', 'otel'] as const) {
        check(await load(side, CREDENTIALS_PATH, ROUND_SECONDS), `warm-up ${side}`);
        check(await load(side, `/aws${BASELINE_PATH}`, ROUND_SECONDS), `warm-up ${side}`);
      }
      const ratio: number[] = [];
      const baseRatio: number[] = [];
      const cpuRatio: number[] = [];
      const detail: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const order: ('none' | 'otel')[] = round % 2 === 0 ? ['none', 'otel'] : ['otel', 'none'];
        const rps: Record<string, number> = {};
        const cpu: Record<string, number> = {};
        for (const side of order) {
          for (const path of [CREDENTIALS_PATH, `/aws${BASELINE_PATH}`]) {
            const c0 = await sides[side].app.call<NodeJS.CpuUsage>('cpu');
            const r = await load(side, path, ROUND_SECONDS);
            const c1 = await sides[side].app.call<NodeJS.CpuUsage>('cpu');
            check(r, `hot path ${side} ${path}`);
            rps[`${side} ${path}`] = r.rps;
            cpu[`${side} ${path}`] = (c1.user + c1.system - c0.user - c0.system) / r.requests;
          }
        }
        const us = (key: string): string => fmt(cpu[key]!, 0);
        cpuRatio.push(cpu[`otel ${CREDENTIALS_PATH}`]! / cpu[`none ${CREDENTIALS_PATH}`]!);
        const credsOtel = rps[`otel ${CREDENTIALS_PATH}`]!;
        const credsNone = rps[`none ${CREDENTIALS_PATH}`]!;
        const baseOtel = rps[`otel /aws${BASELINE_PATH}`]!;
        const baseNone = rps[`none /aws${BASELINE_PATH}`]!;
        ratio.push(credsOtel / credsNone);
        baseRatio.push(baseOtel / baseNone);
        detail.push(
          `credentials ${fmt(credsOtel, 0)}/${fmt(credsNone, 0)} req/s, ${us(`otel ${CREDENTIALS_PATH}`)}/${us(`none ${CREDENTIALS_PATH}`)} µs CPU; ` +
            `baseline ${fmt(baseOtel, 0)}/${fmt(baseNone, 0)} req/s, ${us(`otel /aws${BASELINE_PATH}`)}/${us(`none /aws${BASELINE_PATH}`)} µs CPU`,
        );
        log(`hot path with OpenTelemetry round ${round + 1}: ${detail[detail.length - 1]!} (otel/none)`);
      }
      const scraped = await otel.app.call<{ text: string; spans: number }>('scrape');
      const t = spread(ratio);
      rows.push({
        figure: 'hot path with OpenTelemetry: throughput',
        how: `GET /aws/credentials (warm, ${users} users) with the OpenTelemetry SDK registered (MeterProvider + Prometheus exporter, always-on TracerProvider, AsyncLocalStorage context) ÷ the same app without; two processes, ${CONNECTIONS} connections, ${ROUNDS} × ${ROUND_SECONDS} s`,
        measured: fmtSpread(t),
        goal: '≥ 0.95',
        pass: t.median >= 0.95,
      });
      const c = spread(cpuRatio);
      rows.push({
        figure: 'hot path with OpenTelemetry: CPU',
        how: 'same rounds, CPU time of the app process per GET /aws/credentials, otel ÷ none (less sensitive to other load on the machine)',
        measured: fmtSpread(c),
        goal: '≤ 1.05',
        pass: c.median <= 1.05,
      });
      rows.push({
        figure: 'hot path with OpenTelemetry: baseline route',
        how: "same rounds, the baseline route (no broker): the SDK's own cost to the app (context manager)",
        measured: fmtSpread(spread(baseRatio)),
        goal: 'reported',
        pass: undefined,
      });
      notes.push(
        `hot path with OpenTelemetry rounds (otel/none): ${detail.join('; ')}; metrics registered: ${scraped.text}; spans exported: ${scraped.spans}`,
      );
    });
  });
}

/** `npm run bench -- profile-hot`: a CPU profile of each side of the hot path, for comparing. */
async function profileHotPath(): Promise<void> {
  const users = 1000;
  await withStack({ users, upstream: 'emulator' }, async (s) => {
    const cookies = await loginAll(s.port, users);
    const body = (await getAll(s.port, CREDENTIALS_PATH, cookies)) as Record<string, string>;
    await s.app.call('setBaselineBody', body);
    const dir = join(RESULTS, 'profiles');
    mkdirSync(dir, { recursive: true });
    for (const [name, path] of [
      ['credentials', CREDENTIALS_PATH],
      ['baseline', `/aws${BASELINE_PATH}`],
    ] as const) {
      check(await runLoad({ port: s.port, path, cookies, connections: CONNECTIONS, duration: 3 }), 'warm-up');
      await s.app.call('profileStart');
      const r = await runLoad({ port: s.port, path, cookies, connections: CONNECTIONS, duration: 8 });
      const file = join(dir, `hot-${name}.cpuprofile`);
      await s.app.call('profileStop', file);
      notes.push(`profile of ${path}: ${r.requests} requests, ${fmt(r.rps, 0)} req/s → ${file}`);
    }
  });
}

/**
 * `npm run bench -- profile-heap`: a sampling heap profile of the app under the hot path's load,
 * taken after 8 s without a forced GC: it holds what the requests left behind (live, or promoted to
 * the old generation and not yet collected), by allocation stack.
 */
async function profileHeap(): Promise<void> {
  const users = 1000;
  await withStack({ users, upstream: 'emulator' }, async (s) => {
    const cookies = await loginAll(s.port, users);
    await getAll(s.port, CREDENTIALS_PATH, cookies);
    const dir = join(RESULTS, 'profiles');
    mkdirSync(dir, { recursive: true });
    check(
      await runLoad({ port: s.port, path: CREDENTIALS_PATH, cookies, connections: CONNECTIONS, duration: 3 }),
      'warm-up',
    );
    await s.app.call('heapSampleStart');
    const r = await runLoad({ port: s.port, path: CREDENTIALS_PATH, cookies, connections: CONNECTIONS, duration: 8 });
    const file = join(dir, 'hot-credentials.heapprofile');
    await s.app.call('heapSampleStop', file);
    notes.push(`heap profile of ${CREDENTIALS_PATH}: ${r.requests} requests → ${file}`);
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Upstream economy: 10,000 requests from 200 users on cold caches = 2 Cognito calls per user.

async function upstreamEconomy(): Promise<void> {
  const users = 200;
  const total = 10_000;
  await withStack({ users, upstream: 'emulator' }, async (s) => {
    const cookies = await loginAll(s.port, users);
    const ratios: number[] = [];
    const detail: string[] = [];
    for (let round = 0; round < 3; round++) {
      // Cold caches, sessions kept: forget every user, then count every Cognito call the emulator gets.
      await s.app.call('forget', { from: 0, to: users });
      await s.emulator!.call('resetCounters');
      // Requests come in runs of 25 for one user, so many connections ask for the same cold user at once.
      const r = await runLoad({
        port: s.port,
        path: CREDENTIALS_PATH,
        cookies,
        connections: 100,
        amount: total,
        pick: (k) => Math.floor(k / 25) % users,
      });
      check(r, 'upstream economy');
      const counters = await s.counters();
      const calls = sum(counters);
      ratios.push(calls / (2 * users));
      detail.push(`${r.requests} × 200, calls ${JSON.stringify(counters)}`);
      log(`upstream economy round ${round + 1}: ${detail[detail.length - 1]!}`);
    }
    const sp = spread(ratios);
    rows.push({
      figure: 'upstream economy',
      how: `${total} requests from ${users} users, 100 connections, cold caches: Cognito calls ÷ (2 × users)`,
      measured: fmtSpread(sp),
      goal: '= 1.00',
      pass: sp.max === 1 && sp.min === 1,
    });
    notes.push(`upstream economy: ${detail.join('; ')}`);
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Refresh without waiting: steady load while every credential passes its refresh point.

/**
 * Credentials from Cognito last 3,600 s; the broker serves them until `Expiration − 300 s` and
 * refreshes them at the latest 60 s before that, i.e. 3,240 s after they were issued. The sweep
 * starts a little before the earliest refresh point any broker version could pick (half the
 * servable life, 1,650 s, is the floor) and ends before any entry stops being servable.
 */
const CREDENTIALS_SERVABLE_MS = (3600 - 300) * 1000;
const SWEEP_FROM_MS = CREDENTIALS_SERVABLE_MS * 0.85;
const SWEEP_TO_MS = CREDENTIALS_SERVABLE_MS - 30_000;

/** BENCH_PROF=refresh-window: a CPU profile of the app during each refresh window. */
const PROFILE_WINDOW = process.env.BENCH_PROF === 'refresh-window';

async function refreshWithoutWaiting(capacity: number): Promise<void> {
  if (PROFILE_WINDOW) mkdirSync(join(RESULTS, 'profiles'), { recursive: true });
  const users = 500;
  const rate = Math.max(200, Math.round(capacity * 0.5));
  const latencyMs = 100;
  const steadyMs = (QUICK ? 3 : 6) * 1000;
  // The sweep takes sweepWallMs: slow enough that the cohort's refreshes (one
  // GetOpenIdTokenForDeveloperIdentity each) stay under 40 calls/s, within the 50 rps quota that
  // real Cognito would hold them to. The window goes on at normal speed while the last ones finish.
  const sweepWallMs = Math.ceil(users / 40) * 1000;
  const windowMs = sweepWallMs + 4000;
  // Steady load is measured before and after the window, so that a burst of other load on the
  // machine is less likely to land on one side only.
  const afterMs = (QUICK ? 3 : 6) * 1000;
  const ratios: number[] = [];
  const waited: number[] = [];
  const slow: number[] = [];
  const detail: string[] = [];
  let sweptPerSecond = 0;
  // A fresh cohort each round: users log in and get credentials at once, as after a deploy.
  for (let round = 0; round < 3; round++) {
    await withStack({ users, upstream: 'emulator' }, async (s) => {
      const cookies = await loginAll(s.port, users);
      const issuedFrom = Date.now();
      await getAll(s.port, CREDENTIALS_PATH, cookies);
      const issuedTo = Date.now();
      // A slow Cognito: any request that waits on it takes ≥ latencyMs.
      await s.emulator!.call('setFault', { op: '*', spec: { latencyMs } });
      check(
        await runLoad({
          port: s.port,
          path: CREDENTIALS_PATH,
          cookies,
          connections: CONNECTIONS,
          duration: 2,
          overallRate: rate,
        }),
        'warm-up',
      );
      const before = await s.stats();
      const countersBefore = sum(await s.counters());
      const cpu = (): Promise<number[]> =>
        Promise.all(
          [s.app, s.emulator!].map(async (c) => {
            const u = await c.call<NodeJS.CpuUsage>('cpu');
            return (u.user + u.system) / 1000;
          }),
        );
      const cpuStart = await cpu();
      let jumpedAt = Number.NaN;
      let jumping = false;
      let cpuJump: Promise<number[]> | undefined;
      let cpuEndOfWindow: Promise<number[]> | undefined;
      let profiled: Promise<unknown> | undefined;
      // Sweep the clock from before the cohort's earliest possible refresh point to just before the
      // last entry would stop being servable, within the window, at a constant rate.
      const sweepMs = SWEEP_TO_MS - SWEEP_FROM_MS + (issuedTo - issuedFrom);
      const clockRate = sweepMs / sweepWallMs;
      sweptPerSecond = clockRate;
      const r = await runLoad({
        port: s.port,
        path: CREDENTIALS_PATH,
        cookies,
        connections: CONNECTIONS,
        duration: (steadyMs + windowMs + afterMs) / 1000,
        overallRate: rate,
        onTick: (elapsed) => {
          if (elapsed >= steadyMs + windowMs && cpuEndOfWindow === undefined) {
            cpuEndOfWindow = cpu();
            if (PROFILE_WINDOW)
              profiled = s.app.call('profileStop', join(RESULTS, 'profiles', `refresh-window-${round + 1}.cpuprofile`));
          }
          if (jumping || elapsed < steadyMs) return;
          jumping = true;
          const wall = Date.now();
          jumpedAt = elapsed;
          cpuJump = cpu();
          if (PROFILE_WINDOW) void s.app.call('profileStart');
          void s.setClock({
            offsetMs: issuedFrom + SWEEP_FROM_MS - wall,
            rate: clockRate,
            fromWallMs: wall,
            forWallMs: sweepWallMs,
          });
        },
      });
      check(r, 'refresh');
      await profiled;
      const cpuEnd = await cpuEndOfWindow!;
      const cpuMid = await cpuJump!;
      const busy = (i: number, a: number[], b: number[], ms: number): string =>
        `${fmt(((b[i]! - a[i]!) / ms) * 100, 0)} %`;
      const windowWall = windowMs;
      const cpuText = `app CPU ${busy(0, cpuStart, cpuMid, jumpedAt)} → ${busy(0, cpuMid, cpuEnd, windowWall)}, emulator ${busy(1, cpuStart, cpuMid, jumpedAt)} → ${busy(1, cpuMid, cpuEnd, windowWall)}`;
      const after = await s.stats();
      const calls = sum(await s.counters()) - countersBefore;
      const steady = sortedCopy([
        ...latenciesBetween(r, 1000, jumpedAt),
        ...latenciesBetween(r, jumpedAt + windowMs, Number.POSITIVE_INFINITY),
      ]);
      const during = latenciesBetween(r, jumpedAt, jumpedAt + windowMs);
      const refreshed = after.broker.credentials.refreshes - before.broker.credentials.refreshes;
      const misses = after.broker.credentials.misses - before.broker.credentials.misses;
      const slowCount = during.filter((v) => v >= latencyMs).length;
      ratios.push(percentile(during, 99) / percentile(steady, 99));
      waited.push(misses);
      slow.push(slowCount);
      detail.push(
        `steady p99 ${fmt(percentile(steady, 99))} ms (${steady.length} req), window p99 ${fmt(percentile(during, 99))} ms (${during.length} req), ` +
          `${refreshed} refreshes, ${calls} Cognito calls (broker: ${sum(after.broker.upstreamCalls) - sum(before.broker.upstreamCalls)}), ${misses} cache misses, ${slowCount} responses ≥ ${latencyMs} ms, ${cpuText}` +
          (sum(after.broker.upstreamErrors) > sum(before.broker.upstreamErrors)
            ? `, upstream errors ${JSON.stringify(after.broker.upstreamErrors)}`
            : ''),
      );
      log(`refresh round ${round + 1}: ${detail[detail.length - 1]!}`);
      if (refreshed < users)
        notes.push(`refresh round ${round + 1}: only ${refreshed} of ${users} entries refreshed in the window`);
    });
  }
  const sp = spread(ratios);
  const maxWaited = Math.max(...waited);
  rows.push({
    figure: 'refresh without waiting: p99',
    how:
      `${users} users whose credentials were issued together; ${rate} req/s (half of capacity); then the clock sweeps ` +
      `${fmt((SWEEP_TO_MS - SWEEP_FROM_MS) / 60_000, 1)} min of credential life (${fmt(SWEEP_FROM_MS / 60_000, 1)}–${fmt(SWEEP_TO_MS / 60_000, 1)} min, past every refresh point) in ${sweepWallMs / 1000} s ` +
      `(×${fmt(sweptPerSecond, 0)}), then runs at normal speed; window ${windowMs / 1000} s, then ${afterMs / 1000} s more; Cognito answers in ${latencyMs} ms; p99 in the window ÷ p99 before and after`,
    measured: fmtSpread(sp),
    goal: '≤ 1.25',
    pass: sp.median <= 1.25,
  });
  rows.push({
    figure: 'refresh without waiting: waits',
    how: `requests that waited on Cognito: credential cache misses in the window (broker stats); for reference, responses ≥ ${latencyMs} ms (what any wait would take)`,
    measured: `${waited.join(', ')} (≥ ${latencyMs} ms: ${slow.join(', ')})`,
    goal: '0',
    pass: maxWaited === 0,
  });
  notes.push(`refresh (rate ${rate} req/s): ${detail.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// 4. Memory: heap per cached user, and the cache bound.

async function memory(): Promise<void> {
  const perUser: number[] = [];
  const heapShare: string[] = [];
  let last: MemoryReport | undefined;
  const users = 100_000;
  for (let round = 0; round < (QUICK ? 1 : 3); round++) {
    const child = await forkChild<{ pid: number }>('memory-probe.ts', {}, ['--expose-gc']);
    try {
      last = await child.call<MemoryReport>('run', { users, extra: 10_000 });
      perUser.push(last.bytesPerUser);
      log(
        `memory round ${round + 1}: ${fmt(last.bytesPerUser, 0)} B/user (heap ${fmt(last.heapBytesPerUser, 0)}, buffers ${fmt(last.bufferBytesPerUser, 0)}), largest size ${last.largestSize}, evictions ${last.evictions}`,
      );
      heapShare.push(`heap ${fmt(last.heapBytesPerUser, 0)} B + buffers ${fmt(last.bufferBytesPerUser, 0)} B`);
    } finally {
      await child.stop();
    }
  }
  const sp = spread(perUser.map((b) => b / 1024));
  rows.push({
    figure: 'memory: per user',
    how: `${users} users cached (token ${last?.tokenChars ?? 0} chars, session token ${last?.sessionTokenChars ?? 0} chars, payload ${last?.payloadChars ?? 0} chars in all), JS heap + buffers outside it (where the broker keeps the secrets) after full GC ÷ users`,
    measured: fmtSpread(sp, 2, ' KiB'),
    goal: '≤ 3 KiB',
    pass: sp.median <= 3,
  });
  rows.push({
    figure: 'memory: cache bound',
    how: `max = ${users}, then 10,000 more users: largest cache size seen`,
    measured: `${last?.largestSize ?? 0} (evictions ${last?.evictions ?? 0})`,
    goal: `≤ ${users}`,
    pass: last !== undefined && last.largestSize <= users,
  });
  notes.push(`memory per user: ${heapShare.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// 5. Resident cache: hot-path p99 with 100,000 users cached vs 1,000.

async function residentCache(): Promise<void> {
  const active = 1000;
  const big = 100_000;
  const small = await startStack({ users: active, upstream: 'fake', cacheMax: big, nodeArgs: ['--expose-gc'] });
  const large = await startStack({ users: active, upstream: 'fake', cacheMax: big, nodeArgs: ['--expose-gc'] });
  try {
    const cookies: Record<string, string[]> = {};
    for (const [name, s] of [
      ['small', small],
      ['large', large],
    ] as const) {
      cookies[name] = await loginAll(s.port, active);
      await getAll(s.port, CREDENTIALS_PATH, cookies[name]);
    }
    log(`resident cache: filling ${big} users`);
    await large.app.call('fill', { from: 0, to: big, concurrency: 64 });
    // Measure the steady state, not the aftermath of filling: collect the fill's garbage first.
    const heapAfterFill = [await small.app.call<number>('gc'), await large.app.call<number>('gc')];
    const sizes = [(await small.stats()).broker.credentials.size, (await large.stats()).broker.credentials.size];
    const load = (s: Stack, name: string) =>
      runLoad({
        port: s.port,
        path: CREDENTIALS_PATH,
        cookies: cookies[name]!,
        connections: CONNECTIONS,
        duration: ROUND_SECONDS,
      });
    check(await load(small, 'small'), 'warm-up');
    check(await load(large, 'large'), 'warm-up');
    const ratios: number[] = [];
    const detail: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const);
      const res: Record<string, LoadResult> = {};
      const gc: Record<string, string> = {};
      for (const name of order) {
        const stack = name === 'small' ? small : large;
        const g0 = (await stack.stats()).gcMs;
        const r = await load(stack, name);
        const g1 = (await stack.stats()).gcMs;
        check(r, `resident ${name}`);
        res[name] = r;
        gc[name] = ['minor', 'major', 'incremental']
          .map((k) => `${k} ${fmt(((g1[k] ?? 0) - (g0[k] ?? 0)) / r.seconds / 10, 1)} %`)
          .join(', ');
      }
      ratios.push(res.large!.p99 / res.small!.p99);
      detail.push(
        `p99 ${fmt(res.large!.p99)}/${fmt(res.small!.p99)} ms, ${fmt(res.large!.rps, 0)}/${fmt(res.small!.rps, 0)} req/s, GC time 100k: ${gc.large!}; 1k: ${gc.small!}`,
      );
      log(`resident round ${round + 1}: ${detail[detail.length - 1]!} (100k/1k)`);
    }
    const heaps = [(await small.stats()).heapUsed, (await large.stats()).heapUsed];
    const sp = spread(ratios);
    rows.push({
      figure: 'resident cache',
      how: `hot-path p99 with ${sizes[1]} users cached ÷ with ${sizes[0]} (same ${active} active users, ${CONNECTIONS} connections, ${ROUNDS} × ${ROUND_SECONDS} s)`,
      measured: fmtSpread(sp),
      goal: '≤ 1.25',
      pass: sp.median <= 1.25,
    });
    notes.push(
      `resident cache (100k/1k): ${detail.join('; ')}; heap after a full GC ${(heapAfterFill[1]! / 2 ** 20).toFixed(0)} MiB vs ${(heapAfterFill[0]! / 2 ** 20).toFixed(0)} MiB, in use at the end ${(heaps[1]! / 2 ** 20).toFixed(0)} MiB vs ${(heaps[0]! / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await small.stop();
    await large.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 6. Login burst under the quota: 2,000 users log in within 10 s, GetOpenIdToken… throttled at 50 rps.

async function loginBurst(): Promise<void> {
  const users = 2000;
  const spreadMs = 10_000;
  const giveUpMs = 90_000;
  await withStack({ users, upstream: 'emulator' }, async (s) => {
    await s.emulator!.call('setFault', {
      op: 'GetOpenIdTokenForDeveloperIdentity',
      spec: { throttleRps: QUOTA_RPS },
    });
    const { statuses, bad, retried, connectionErrors, servedAt } = await runBurst({
      ports: [s.port],
      users,
      spreadMs,
      giveUpMs,
    });
    const counters = await s.counters();
    const broker = (await s.stats()).broker;
    const last = Math.max(...servedAt);
    const tokenCalls = counters.GetOpenIdTokenForDeveloperIdentity ?? 0;
    const perUser = tokenCalls / Math.max(1, servedAt.length);
    const floorMs = (users / QUOTA_RPS) * 1000;
    rows.push({
      figure: 'login burst: responses',
      how: `${users} users log in within ${spreadMs / 1000} s, GetOpenIdTokenForDeveloperIdentity throttled at ${QUOTA_RPS} rps, clients retry after Retry-After: responses other than 200 or 503/429 + Retry-After`,
      measured: `${bad}${connectionErrors > 0 ? ` (and ${connectionErrors} connection resets, retried)` : ''}`,
      goal: '0',
      pass: bad === 0,
    });
    rows.push({
      figure: 'login burst: token calls per user',
      how: 'GetOpenIdTokenForDeveloperIdentity calls the emulator received ÷ users served',
      measured: `${fmt(perUser)} (${tokenCalls} for ${servedAt.length})`,
      goal: '≤ 1.10',
      pass: perUser <= 1.1,
    });
    rows.push({
      figure: 'login burst: all served',
      how: `time until the last user got credentials ÷ the quota floor (users ÷ ${QUOTA_RPS} rps)`,
      measured: `${fmt(last / floorMs)} (${servedAt.length}/${users} in ${fmt(last / 1000, 1)} s, floor ${fmt(floorMs / 1000, 1)} s)`,
      goal: '≤ 1.10, all served',
      pass: servedAt.length === users && last / floorMs <= 1.1,
    });
    notes.push(
      `login burst: ${JSON.stringify(statuses)}, ${retried} retries, emulator calls ${JSON.stringify(counters)}; broker: refused by the governor ${JSON.stringify(broker.quotaRefused)}, per-user budget ${JSON.stringify(broker.userBudgetRefused)}, throttled by Cognito ${JSON.stringify(broker.upstreamThrottles)}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// 6b. Quota burn: one logged-in user loops POST /login → GET /aws/credentials → POST /logout while 200
// others use the app; how many Cognito calls the loop causes, and what it does to the others.

async function quotaBurn(): Promise<void> {
  const others = 200;
  const loops = 1000;
  const seconds = QUICK ? 10 : 20;
  // Users 1…200 are the others, user 0 the one looping.
  await withStack({ users: others + 1, upstream: 'emulator' }, async (s) => {
    const cookies = (await loginAll(s.port, others + 1)).slice(1);
    await getAll(s.port, CREDENTIALS_PATH, cookies);
    const load = () =>
      runLoad({
        port: s.port,
        path: CREDENTIALS_PATH,
        cookies,
        connections: CONNECTIONS,
        duration: seconds,
        overallRate: 1000,
      });
    const calls = async () => sum(await s.counters());
    log('quota burn: the others alone');
    const alone = await load();
    const c0 = await calls();
    log('quota burn: the others with the loop');
    const statuses: Record<string, number> = {};
    const count = (what: string): void => {
      statuses[what] = (statuses[what] ?? 0) + 1;
    };
    let done = 0;
    let loopMs = 0;
    const loop = async (): Promise<void> => {
      const t0 = performance.now();
      for (; done < loops; done++) {
        const l = await login(s.port, 0);
        count(`login ${l.status}`);
        const r = await fetch(`http://127.0.0.1:${s.port}${CREDENTIALS_PATH}`, { headers: { cookie: l.cookie } });
        await r.arrayBuffer();
        count(`credentials ${r.status}`);
        const o = await fetch(`http://127.0.0.1:${s.port}/logout`, { method: 'POST', headers: { cookie: l.cookie } });
        await o.arrayBuffer();
        count(`logout ${o.status}`);
      }
      loopMs = performance.now() - t0;
    };
    const [withLoop] = await Promise.all([load(), loop()]);
    const loopCalls = (await calls()) - c0;
    const perMinute = loopCalls / Math.max(1, loopMs / 60_000);
    const p99Ratio = withLoop.p99 / alone.p99;
    const othersFailed = failures(withLoop);
    rows.push({
      figure: 'quota burn: calls caused by the loop',
      how: `one user loops login → GET ${CREDENTIALS_PATH} → logout ${loops} times while ${others} others use the app (${CONNECTIONS} connections, 1000 req/s, ${seconds} s): Cognito calls during the loop (the others are cached) per minute of the loop`,
      measured: `${fmt(perMinute, 1)} per minute (${loopCalls} calls in ${fmt(loopMs / 1000, 1)} s, ${done} loops)`,
      goal: '≤ 10',
      pass: perMinute <= 10,
    });
    rows.push({
      figure: 'quota burn: the others',
      how: 'the others’ p99 with the loop ÷ without it; their failed responses',
      measured: `${fmt(p99Ratio)} (p99 ${fmt(withLoop.p99)}/${fmt(alone.p99)} ms), ${othersFailed} failed`,
      goal: '≤ 1.25, 0 failed',
      pass: p99Ratio <= 1.25 && othersFailed === 0 && failures(alone) === 0,
    });
    const broker = (await s.stats()).broker;
    notes.push(
      `quota burn: loop ${JSON.stringify(statuses)}; the others ${JSON.stringify(withLoop.statusCodes)} with the loop, ${JSON.stringify(alone.statusCodes)} alone; emulator calls ${JSON.stringify(await s.counters())}; broker: per-user budget ${JSON.stringify(broker.userBudgetRefused)}, refused by the governor ${JSON.stringify(broker.quotaRefused)}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// 7. Emulator: calls/s from the real SDK, and the share of time spent signing.

/** The SDK driver against an emulator child, with the emulator's state in `stateFile` when given. */
type DriverPhases = { openId: DriverPhase; credentials: DriverPhase; callerIdentity: DriverPhase };

async function driveEmulator(
  o: { stateFile?: string; nodeArgs?: readonly string[]; driverArgs?: readonly string[] } = {},
): Promise<DriverPhases> {
  const emulator = await forkChild<EmulatorReady>(
    'emulator-server.ts',
    o.stateFile === undefined ? {} : { stateFile: o.stateFile },
    o.nodeArgs,
  );
  try {
    const driver = await forkChild<{ pid: number }>('sdk-driver.ts', {}, o.driverArgs);
    try {
      return await driver.call('run', { emulator: emulator.ready, seconds: QUICK ? 2 : 5, concurrency: 8 });
    } finally {
      await driver.stop();
    }
  } finally {
    await emulator.stop();
  }
}

async function emulatorSpeed(): Promise<void> {
  const dir = join(RESULTS, 'profiles');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const emuDir = join(dir, 'emulator');
  const drvDir = join(dir, 'driver');
  const phases = await driveEmulator({
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${emuDir}`],
    driverArgs: ['--cpu-prof', `--cpu-prof-dir=${drvDir}`],
  });
  // The same load with a state file: each answer to a changing call waits for its fdatasync'd commit.
  const stateDir = mkdtempSync(join(tmpdir(), 'cib-bench-state-'));
  let durable: DriverPhases;
  let stateBytes: number;
  try {
    const stateFile = join(stateDir, 'state.json');
    durable = await driveEmulator({ stateFile });
    stateBytes = statSync(stateFile).size;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  const profile = (d: string): string =>
    join(
      d,
      readdirSync(d).find((f) => f.endsWith('.cpuprofile'))!,
    );
  const rs512 = (f: { functionName: string; url: string }) =>
    f.url.includes('/src/emulator/tokens') && f.functionName === 'sign';
  const sigv4 = (f: { functionName: string; url: string }) => f.url.includes('signature-v4');
  const emuOpenId = inclusiveShare(profile(emuDir), rs512, phases.openId.startUs, phases.openId.endUs);
  const drvOpenId = inclusiveShare(profile(drvDir), sigv4, phases.openId.startUs, phases.openId.endUs);
  const emuCreds = inclusiveShare(profile(emuDir), () => false, phases.credentials.startUs, phases.credentials.endUs);
  const emuCaller = inclusiveShare(
    profile(emuDir),
    () => false,
    phases.callerIdentity.startUs,
    phases.callerIdentity.endUs,
  );
  const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
  rows.push({
    figure: 'emulator: GetOpenIdTokenForDeveloperIdentity',
    how: 'real SDK in another process, 8 concurrent calls, a new user (a new identity) per call, state in memory; signing = RS512 token signing in the emulator (--cpu-prof), SigV4 in the SDK',
    measured: `${fmt(phases.openId.callsPerSecond, 0)} calls/s; RS512 ${pct(emuOpenId.share)} of emulator CPU, SigV4 ${pct(drvOpenId.share)} of client CPU`,
    goal: 'reported',
    pass: undefined,
  });
  rows.push({
    figure: 'emulator: GetCredentialsForIdentity',
    how: 'same, unsigned call; the emulator verifies the RS512 token',
    measured: `${fmt(phases.credentials.callsPerSecond, 0)} calls/s; emulator CPU ${fmt((emuCreds.busyMs / 1000 / phases.credentials.seconds) * 100, 0)} % of one core`,
    goal: 'reported',
    pass: undefined,
  });
  const ratio = (d: DriverPhase, m: DriverPhase): string => fmt(d.callsPerSecond / m.callsPerSecond, 2);
  rows.push({
    figure: 'emulator, durable: GetOpenIdTokenForDeveloperIdentity',
    how: `same load with --state-file: each answer waits for the group commit holding its new identity (one record appended to the state file's log, one fdatasync; the snapshot is rewritten only at start, at stop and when the log outgrows it); ${fmt(durable.openId.calls + 1, 0)}+ identities, file ${fmt(stateBytes / 1e6, 1)} MB at the end`,
    measured: `${fmt(durable.openId.callsPerSecond, 0)} calls/s; durable ÷ in memory ${ratio(durable.openId, phases.openId)}`,
    goal: 'reported',
    pass: undefined,
  });
  rows.push({
    figure: 'emulator, durable: GetCredentialsForIdentity',
    how: 'same, with --state-file; a read-only call, answered without waiting for a commit',
    measured: `${fmt(durable.credentials.callsPerSecond, 0)} calls/s; durable ÷ in memory ${ratio(durable.credentials, phases.credentials)}`,
    goal: 'reported',
    pass: undefined,
  });
  rows.push({
    figure: 'emulator: STS GetCallerIdentity',
    how: 'same, signed by the SDK with 64 sets of credentials minted by GetCredentialsForIdentity; the emulator verifies SigV4',
    measured: `${fmt(phases.callerIdentity.callsPerSecond, 0)} calls/s; emulator CPU ${fmt((emuCaller.busyMs / 1000 / phases.callerIdentity.seconds) * 100, 0)} % of one core`,
    goal: 'reported',
    pass: undefined,
  });
}

// ---------------------------------------------------------------------------------------------

function table(): string {
  const lines = ['| figure | how | measured: median [min–max] | goal | result |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.figure} | ${r.how} | ${r.measured} | ${r.goal} | ${r.pass === undefined ? '—' : r.pass ? 'PASS' : 'MISS'} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const only = process.argv.slice(2);
  const want = (name: string): boolean => only.length === 0 || only.includes(name);
  let capacity = 4000;
  const figures: [string, () => Promise<void>][] = [
    [
      'hot',
      async () => {
        capacity = (await hotPath()).capacity;
      },
    ],
    ['hot-otel', hotPathOtel],
    ['economy', upstreamEconomy],
    ['refresh', () => refreshWithoutWaiting(capacity)],
    ['memory', memory],
    ['resident', residentCache],
    ['burst', loginBurst],
    ['burn', quotaBurn],
    ['emulator', emulatorSpeed],
    ['fleet', () => fleetFigures({ rows, notes })],
    ['scoped', () => scopedFigures({ rows, notes })],
  ];
  // On request only: not a figure.
  if (only.includes('profile-hot')) figures.push(['profile-hot', profileHotPath]);
  if (only.includes('profile-heap')) figures.push(['profile-heap', profileHeap]);
  for (const [name, fn] of figures) {
    if (!want(name)) continue;
    log(`figure: ${name}`);
    try {
      await fn();
    } catch (err) {
      rows.push({
        figure: name,
        how: 'failed',
        measured: (err as Error).message.split('\n')[0] ?? '',
        goal: '',
        pass: false,
      });
      log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  const cpu = cpus();
  const header =
    `Run ${new Date().toISOString()} on Node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ` +
    `${fmt((performance.now() - started) / 1000, 0)} s${QUICK ? ' (BENCH_QUICK)' : ''}.`;
  const text = `${header}\n\n${table()}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.md'), text);
  process.stdout.write(`${text}\nwritten to bench/results/latest.md\n`);
}

function killAll(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  killRedisServers();
}
process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.on('SIGTERM', () => {
  killAll();
  process.exit(143);
});
process.on('exit', killAll);

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
