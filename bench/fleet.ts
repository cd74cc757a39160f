// `npm run bench -- fleet`: several app processes (instances of one app) over one emulator and, in
// fleet mode, a Redis that the bench starts (free loopback ports, no persistence) and stops: one
// redis-server, or a Redis Cluster of 3 masters. The main figures run on each kind in turn, in the
// same run, so that the cluster's row reads beside the single node's. Every figure is a ratio or a
// count measured in one run; none is asserted on time.
import { randomBytes } from 'node:crypto';
import type { AppServerConfig, AppServerStats } from './app-server.js';
import type { EmulatorReady, EmulatorServerConfig } from './emulator-server.js';
import { callsPerSecondWhilePaused, overloadedBurst, type FleetKit } from './fleet-faults.js';
import { runBurst } from './lib/burst.js';
import type { ClockSetting } from './lib/clock.js';
import { FLEET_KEY_ENV } from './lib/fleet-env.js';
import { figureOn, redisKindsFrom, startFleetRedis, type FleetRedis, type RedisKind } from './lib/fleet-redis.js';
import { forkChild, type Child } from './lib/ipc.js';
import { check, failures, getAll, loginAll, runLoad, type LoadResult } from './lib/load.js';
import {
  CONNECTIONS,
  CREDENTIALS_PATH,
  log,
  QUICK,
  QUOTA_RPS,
  ROUND_SECONDS,
  ROUNDS,
  type Report,
} from './lib/report.js';
import { fmt, fmtSpread, percentile, sortedCopy, spread, sum } from './lib/stats.js';
import type { FleetStats } from '../src/fleet/index.js';
import { redisClusterBinaries } from '../scripts/redis-cluster.js';
import { redisServerBinary } from '../test/helpers/redis-server.js';

const INSTANCES = 3;

/** Every Redis the bench started and has not stopped yet. */
const liveRedis = new Set<FleetRedis>();

/**
 * Kills every Redis process still running, at once (for the orchestrator's exit path: the signals
 * are sent before the first await).
 */
export function killRedisServers(): void {
  for (const redis of liveRedis) void redis.stop();
}

/** One emulator, a Redis when any app is in fleet mode, and the app processes. */
export interface Apps {
  readonly emulator: Child<EmulatorReady>;
  /** The Redis of the fleet (one server or a cluster), if any app is in fleet mode. */
  readonly redis: FleetRedis | undefined;
  readonly apps: readonly Child<{ port: number }>[];
  readonly ports: readonly number[];
  stats(): Promise<AppServerStats[]>;
  /** Emulator calls by operation since its last reset. */
  counters(): Promise<Record<string, number>>;
  /** Sets every clock (the apps' brokers and the emulator). */
  setClock(setting: ClockSetting): Promise<void>;
}

async function stopAll(apps: readonly Child<unknown>[], emulator: Child<unknown> | undefined, redis?: FleetRedis) {
  try {
    await Promise.allSettled(apps.map((a) => a.stop()));
    await emulator?.stop();
  } finally {
    if (redis !== undefined) {
      await redis.stop();
      liveRedis.delete(redis);
    }
  }
}

/**
 * Runs `fn` with one app process per entry of `fleet` (`true`: in fleet mode over the shared Redis,
 * of kind `redis`, by default one redis-server), and stops every process it started afterwards, also
 * when `fn` or a start fails.
 */
export async function withApps<T>(
  o: { users: number; fleet: readonly boolean[]; redis?: RedisKind; emulator?: EmulatorServerConfig },
  fn: (s: Apps) => Promise<T>,
): Promise<T> {
  let redis: FleetRedis | undefined;
  let emulator: Child<EmulatorReady> | undefined;
  const apps: Child<{ port: number }>[] = [];
  try {
    if (o.fleet.includes(true)) {
      redis = await startFleetRedis(o.redis ?? 'single');
      liveRedis.add(redis);
    }
    emulator = await forkChild<EmulatorReady>('emulator-server.ts', o.emulator ?? {});
    const emu = emulator;
    // One key for the whole fleet, made for this run; it reaches the apps in their environment.
    const key = randomBytes(32).toString('base64');
    const started = await Promise.allSettled(
      o.fleet.map((inFleet) =>
        forkChild<{ port: number }>(
          'app-server.ts',
          {
            users: o.users,
            upstream: { endpoint: emu.ready.endpoint, region: emu.ready.region },
            identityPoolId: emu.ready.identityPoolId,
            developerProviderName: emu.ready.developerProviderName,
            ...(inFleet && redis !== undefined ? { fleet: redis.config } : {}),
          } satisfies AppServerConfig,
          [],
          inFleet ? { [FLEET_KEY_ENV]: key } : {},
        ),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') apps.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return await fn({
      emulator: emu,
      redis,
      apps,
      ports: apps.map((a) => a.ready.port),
      stats: () => Promise.all(apps.map((a) => a.call<AppServerStats>('stats'))),
      counters: () => emu.call('counters'),
      async setClock(setting) {
        await Promise.all([...apps.map((a) => a.call('setClock', setting)), emu.call('setClock', setting)]);
      },
    });
  } finally {
    await stopAll(apps, emulator, redis);
  }
}

export function fleetOf(stats: AppServerStats): FleetStats {
  const f = stats.broker.fleet;
  if (f === undefined) throw new Error('an app in fleet mode reports no fleet stats');
  return f;
}

/** Per-instance differences of the fleet counters that the figures report. */
function fleetDelta(before: readonly AppServerStats[], after: readonly AppServerStats[]): string {
  return after
    .map((a, k) => {
      const f = fleetOf(a);
      const b = fleetOf(before[k]!);
      // The rarer counters only when they moved.
      const rare = (['leaseTakeovers', 'entriesRejected', 'resyncDrops', 'degradations'] as const)
        .filter((c) => f[c] !== b[c])
        .map((c) => `, ${f[c] - b[c]} ${c}`)
        .join('');
      return (
        `#${k}: ${f.sharedLoads - b.sharedLoads} loads, ${f.sharedHits - b.sharedHits} shared hits, ` +
        `${f.leaseWaits - b.leaseWaits} lease waits, ${f.redisErrors - b.redisErrors} Redis errors${rare}, ${f.state}`
      );
    })
    .join('; ');
}

/**
 * Waits until every instance has published its own `forgetUser` changes and applied everyone
 * else's (or dropped everything on a gap), so that no late change makes a fresh shared entry stale.
 */
async function settleChanges(s: Apps, before: readonly AppServerStats[], perInstance: number): Promise<void> {
  const others = perInstance * (s.apps.length - 1);
  for (let tries = 0; tries < 200; tries++) {
    const now = await s.stats();
    const done = now.every((a, k) => {
      const f = fleetOf(a);
      const b = fleetOf(before[k]!);
      const applied = f.invalidationsApplied - b.invalidationsApplied + (f.resyncDrops - b.resyncDrops) * others;
      return f.invalidationsPublished - b.invalidationsPublished >= perInstance && applied >= others;
    });
    if (done) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the instances did not see each other’s changes within 20 s');
}

// ---------------------------------------------------------------------------------------------
// 1. Upstream economy across instances: 200 users, requests to all three instances at once, cold.

async function economy(report: Report, kind: RedisKind): Promise<void> {
  const users = 200;
  const total = 10_000;
  const perInstance = Math.ceil(total / INSTANCES);
  // Each instance goes over every user twice, in runs: the fleet as a whole sends about as many
  // requests at once for one cold user as the single-process figure's runs of 25.
  const run = Math.floor(perInstance / (2 * users));
  const results: Record<'fleet' | 'per process', { ratios: number[]; detail: string[] }> = {
    fleet: { ratios: [], detail: [] },
    'per process': { ratios: [], detail: [] },
  };
  let described = '';
  // The per-process caches use no Redis: measured once, beside the single node.
  const modes = kind === 'single' ? (['fleet', 'per process'] as const) : (['fleet'] as const);
  for (const mode of modes) {
    const inFleet = mode === 'fleet';
    await withApps({ users, fleet: Array.from({ length: INSTANCES }, () => inFleet), redis: kind }, async (s) => {
      if (s.redis !== undefined) described = s.redis.described;
      log(`fleet economy (${mode}, ${kind}): logging ${users} users in on each of ${INSTANCES} instances`);
      const cookies = await Promise.all(s.ports.map((port) => loginAll(port, users)));
      for (let round = 0; round < 3; round++) {
        // Cold caches, sessions kept: every instance forgets every user (in fleet mode this also
        // makes the shared entries stale), then every Cognito call the emulator gets is counted.
        const before = await s.stats();
        await Promise.all(s.apps.map((a) => a.call('forget', { from: 0, to: users })));
        if (inFleet) await settleChanges(s, before, users);
        await s.emulator.call('resetCounters');
        const start = await s.stats();
        // The same order on every instance, so that all three ask for the same cold user at once.
        const runs = await Promise.all(
          s.ports.map((port, k) =>
            runLoad({
              port,
              path: CREDENTIALS_PATH,
              cookies: cookies[k]!,
              connections: Math.ceil(100 / INSTANCES),
              amount: perInstance,
              pick: (j) => Math.floor(j / run) % users,
            }),
          ),
        );
        runs.forEach((r, k) => {
          check(r, `fleet economy (${mode}) instance ${k}`);
        });
        const counters = await s.counters();
        results[mode].ratios.push(sum(counters) / (2 * users));
        const requests = runs.reduce((n, r) => n + r.requests, 0);
        results[mode].detail.push(
          `${requests} × 200, calls ${JSON.stringify(counters)}` +
            (inFleet ? `, fleet ${fleetDelta(start, await s.stats())}` : ''),
        );
        log(`fleet economy (${mode}, ${kind}) round ${round + 1}: ${results[mode].detail[round]!}`);
      }
    });
  }
  const shared = spread(results.fleet.ratios);
  report.rows.push({
    figure: figureOn(kind, 'fleet: upstream economy'),
    how: `${INSTANCES} app processes in fleet mode over ${described} and one emulator; ${users} users logged in on each; every entry forgotten; ${INSTANCES} × ${perInstance} requests at once (${Math.ceil(100 / INSTANCES)} connections per instance, runs of ${run} requests for one user, every user twice, the same order on every instance): Cognito calls ÷ (2 × users)`,
    measured: fmtSpread(shared),
    goal: '= 1.00',
    pass: shared.min === 1 && shared.max === 1,
  });
  if (kind === 'single') {
    report.rows.push({
      figure: 'fleet: upstream economy, per-process caches',
      how: 'the same load on the same 3 app processes without fleet mode (each with its own cache)',
      measured: fmtSpread(spread(results['per process'].ratios)),
      goal: 'reported (3.00 expected)',
      pass: undefined,
    });
  }
  report.notes.push(
    `${figureOn(kind, 'fleet economy')}: fleet ${results.fleet.detail.join('; ')}` +
      (kind === 'single' ? `; per process ${results['per process'].detail.join('; ')}` : ''),
  );
}

// ---------------------------------------------------------------------------------------------
// 2. Hot path on an L1 hit, fleet mode on vs off: two app processes side by side.

async function hotPath(report: Report, kind: RedisKind): Promise<void> {
  const users = 1000;
  await withApps({ users, fleet: [true, false], redis: kind }, async (s) => {
    log(`fleet hot path (${kind}): logging ${users} users in on both processes`);
    const sides = { on: 0, off: 1 } as const;
    const cookies = await Promise.all(s.ports.map((port) => loginAll(port, users)));
    await Promise.all(s.ports.map((port, k) => getAll(port, CREDENTIALS_PATH, cookies[k]!)));
    const load = (side: keyof typeof sides, duration: number): Promise<LoadResult> =>
      runLoad({
        port: s.ports[sides[side]]!,
        path: CREDENTIALS_PATH,
        cookies: cookies[sides[side]]!,
        connections: CONNECTIONS,
        duration,
      });
    log('fleet hot path: warm-up');
    check(await load('on', ROUND_SECONDS), 'warm-up on');
    check(await load('off', ROUND_SECONDS), 'warm-up off');
    const before = await s.stats();
    const ratio: number[] = [];
    const cpuRatio: number[] = [];
    const detail: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order: (keyof typeof sides)[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
      const rps: Record<string, number> = {};
      const cpu: Record<string, number> = {};
      for (const side of order) {
        const app = s.apps[sides[side]]!;
        const c0 = await app.call<NodeJS.CpuUsage>('cpu');
        const r = await load(side, ROUND_SECONDS);
        const c1 = await app.call<NodeJS.CpuUsage>('cpu');
        check(r, `fleet hot path ${side}`);
        rps[side] = r.rps;
        cpu[side] = (c1.user + c1.system - c0.user - c0.system) / r.requests;
      }
      ratio.push(rps.on! / rps.off!);
      cpuRatio.push(cpu.on! / cpu.off!);
      detail.push(`${fmt(rps.on!, 0)}/${fmt(rps.off!, 0)} req/s, ${fmt(cpu.on!, 0)}/${fmt(cpu.off!, 0)} µs CPU`);
      log(`fleet hot path (${kind}) round ${round + 1}: ${detail[round]!} (on/off)`);
    }
    const after = await s.stats();
    const misses = after.map((a, k) => a.broker.credentials.misses - before[k]!.broker.credentials.misses);
    const onFleet = fleetOf(after[0]!);
    const t = spread(ratio);
    report.rows.push({
      figure: figureOn(kind, 'fleet: hot path (L1 hit), throughput'),
      how: `GET /aws/credentials (warm, ${users} users) on an app in fleet mode over ${s.redis?.described ?? ''} ÷ the same app without; two processes, one emulator, ${CONNECTIONS} connections, ${ROUNDS} × ${ROUND_SECONDS} s`,
      measured: fmtSpread(t),
      goal: '≥ 0.95',
      pass: t.median >= 0.95,
    });
    report.rows.push({
      figure: figureOn(kind, 'fleet: hot path (L1 hit), CPU'),
      how: 'same rounds, CPU time of the app process per request, on ÷ off (less sensitive to other load on the machine)',
      measured: fmtSpread(spread(cpuRatio)),
      goal: 'reported',
      pass: undefined,
    });
    report.notes.push(
      `${figureOn(kind, 'fleet hot path')} rounds (on/off): ${detail.join('; ')}; credential cache misses during the rounds (on, off): ${misses.join(', ')}; fleet side ${onFleet.state}, ${onFleet.redisErrors} Redis errors`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// 3. L2 hit: a user another instance loaded, asked for on this one for the first time.

/** On a cluster: the most an L2 hit's p99 may be, in p99s of a PING to its user's node (issue 21). */
const L2_PER_PING_GOAL = 1.25;

async function sharedHit(report: Report, kind: RedisKind): Promise<void> {
  const users = QUICK ? 200 : 600;
  // Users [users, users + warm) warm each instance's path up (JIT, connections) and are not timed.
  const warm = 50;
  const fleet = Array.from({ length: INSTANCES }, () => true);
  await withApps({ users: users + warm, fleet, redis: kind }, async (s) => {
    const [a, ...others] = s.apps;
    log(`fleet L2 hit (${kind}): instance 0 loads ${users + warm} users`);
    await a!.call('fill', { from: 0, to: users + warm, concurrency: 16 });
    const callsAfterFill = sum(await s.counters());
    for (const app of others) await app.call('timeCredentials', { from: users, to: users + warm });
    const before = await s.stats();
    // Each other instance asks for every user once (an L2 hit: token, then credentials), one call at
    // a time; then once more (an L1 hit), timed the same way inside the same process.
    const l2: number[] = [];
    const l1: number[] = [];
    const pings: number[] = [];
    type Timed = { calls: number[]; pings: number[] };
    for (const app of others) {
      const shared = await app.call<Timed>('timeCredentials', { from: 0, to: users });
      l2.push(...shared.calls);
      pings.push(...shared.pings);
      l1.push(...(await app.call<Timed>('timeCredentials', { from: 0, to: users })).calls);
    }
    const after = await s.stats();
    const extraCalls = sum(await s.counters()) - callsAfterFill;
    const l2s = sortedCopy(l2);
    const l1s = sortedCopy(l1);
    const p99 = percentile(l2s, 99);
    const p50 = percentile(l2s, 50);
    const l1p99 = percentile(l1s, 99);
    const l1p50 = percentile(l1s, 50);
    const pingSorted = sortedCopy(pings);
    const pingP99 = percentile(pingSorted, 99);
    const hits = after.slice(1).map((st, k) => fleetOf(st).sharedHits - fleetOf(before[k + 1]!).sharedHits);
    report.rows.push({
      figure: figureOn(kind, 'fleet: L2 hit p99'),
      how: `over ${s.redis?.described ?? ''}: instance 0 loads ${users} users (and ${warm} more that warm the other instances up, untimed); instances 1 and 2 then each call broker.getCredentials once per user, one at a time, timed inside the process (token and credentials from the shared tier: one Redis round trip over loopback, the token entry bringing its user's credentials entry along, and two decryptions); ${l2.length} calls`,
      measured: `${fmt(p99, 3)} ms (p50 ${fmt(p50, 3)} ms, max ${fmt(l2s[l2s.length - 1] ?? Number.NaN, 3)} ms)`,
      goal: '≤ 2 ms',
      pass: p99 <= 2 && extraCalls === 0,
    });
    report.rows.push({
      figure: figureOn(kind, 'fleet: L2 hit ÷ L1 hit'),
      how: 'the same calls once more on the same instances (L1 hits), timed the same way: p99 of the L2 hits ÷ p99 of the L1 hits',
      measured: `${fmt(p99 / l1p99, 1)} (L1 p99 ${fmt(l1p99, 3)} ms; p50 ${fmt(p50 / l1p50, 1)}, L1 p50 ${fmt(l1p50, 3)} ms)`,
      goal: 'reported',
      pass: undefined,
    });
    const perPing = p99 / pingP99;
    report.rows.push({
      figure: figureOn(kind, 'fleet: L2 hit ÷ Redis round trip'),
      how:
        kind === 'cluster'
          ? 'a Redis PING timed right after each L2 hit on the connection that served it: the cluster client’s own connection to the master of the user’s slot (getNodeClientForKey on the user’s hash tag, resolved before the timing), the floor of one round trip to that node at that moment: p99 of the L2 hits ÷ p99 of the PINGs'
          : 'a Redis PING timed on the same connection right after each L2 hit (the floor of one round trip on this machine at that moment): p99 of the L2 hits ÷ p99 of the PINGs',
      measured: `${fmt(perPing)} (PING p99 ${fmt(pingP99, 3)} ms, p50 ${fmt(percentile(pingSorted, 50), 3)} ms)`,
      goal: kind === 'cluster' ? `≤ ${fmt(L2_PER_PING_GOAL)}` : 'reported',
      pass: kind === 'cluster' ? perPing <= L2_PER_PING_GOAL && extraCalls === 0 : undefined,
    });
    report.notes.push(
      `${figureOn(kind, 'fleet L2 hit')}: shared hits on instances 1, 2: ${hits.join(', ')} (2 per user expected); Cognito calls after the fill: ${extraCalls}; fleet ${fleetDelta(before, after)}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// 4. Refresh once fleet-wide: three instances serve the same users while every refresh point passes.

/** As in the single-process refresh figure: from 85 % of the credentials' servable life to 30 s before its end. */
const CREDENTIALS_SERVABLE_MS = (3600 - 300) * 1000;
const SWEEP_FROM_MS = CREDENTIALS_SERVABLE_MS * 0.85;
const SWEEP_TO_MS = CREDENTIALS_SERVABLE_MS - 30_000;

async function refresh(report: Report, kind: RedisKind): Promise<void> {
  const users = 300;
  const ratePerInstance = 150;
  const steadyMs = (QUICK ? 2 : 3) * 1000;
  // Slow enough that the cohort's token loads stay under 40 calls/s, inside the 50 rps quota.
  const sweepWallMs = Math.ceil(users / 40) * 1000;
  const windowMs = sweepWallMs + 4000;
  const afterMs = (QUICK ? 2 : 3) * 1000;
  await withApps({ users, fleet: Array.from({ length: INSTANCES }, () => true), redis: kind }, async (s) => {
    log(`fleet refresh (${kind}): logging ${users} users in on each of ${INSTANCES} instances`);
    const cookies = await Promise.all(s.ports.map((port) => loginAll(port, users)));
    const issuedFrom = Date.now();
    await Promise.all(s.ports.map((port, k) => getAll(port, CREDENTIALS_PATH, cookies[k]!)));
    const issuedTo = Date.now();
    const before = await s.stats();
    const calls0 = sum(await s.counters());
    const sweepMs = SWEEP_TO_MS - SWEEP_FROM_MS + (issuedTo - issuedFrom);
    const clockRate = sweepMs / sweepWallMs;
    let callsAtJump: Promise<number> | undefined;
    let jumped: Promise<void> | undefined;
    const runs = await Promise.all(
      s.ports.map((port, k) =>
        runLoad({
          port,
          path: CREDENTIALS_PATH,
          cookies: cookies[k]!,
          connections: CONNECTIONS,
          duration: (steadyMs + windowMs + afterMs) / 1000,
          overallRate: ratePerInstance,
          ...(k === 0
            ? {
                onTick: (elapsed: number) => {
                  if (jumped !== undefined || elapsed < steadyMs) return;
                  callsAtJump = s.counters().then(sum);
                  const wall = Date.now();
                  jumped = s.setClock({
                    offsetMs: issuedFrom + SWEEP_FROM_MS - wall,
                    rate: clockRate,
                    fromWallMs: wall,
                    forWallMs: sweepWallMs,
                  });
                },
              }
            : {}),
        }),
      ),
    );
    await jumped;
    if (callsAtJump === undefined) throw new Error('the clock never moved');
    const atJump = await callsAtJump;
    const counters = await s.counters();
    const windowCalls = sum(counters) - atJump;
    const after = await s.stats();
    const entries = 2 * users;
    const ratio = windowCalls / entries;
    const refreshes = after.map((a, k) => a.broker.credentials.refreshes - before[k]!.broker.credentials.refreshes);
    const misses = after.map((a, k) => a.broker.credentials.misses - before[k]!.broker.credentials.misses);
    const failed = runs.reduce((n, r) => n + failures(r), 0);
    report.rows.push({
      figure: figureOn(kind, 'fleet: refresh once fleet-wide'),
      how: `${INSTANCES} instances in fleet mode over ${s.redis?.described ?? ''} serve the same ${users} users (${ratePerInstance} req/s each); after ${steadyMs / 1000} s every clock (brokers and emulator) sweeps ${fmt((SWEEP_TO_MS - SWEEP_FROM_MS) / 60_000, 1)} min of credential life past every refresh point in ${sweepWallMs / 1000} s (×${fmt(clockRate, 0)}), then runs at normal speed (window ${windowMs / 1000} s, then ${afterMs / 1000} s more): Cognito calls from the jump to the end ÷ entries (each user's token and credentials: ${entries})`,
      measured: `${fmt(ratio)} (${windowCalls} calls)`,
      goal: '= 1.00',
      pass: windowCalls === entries && failed === 0,
    });
    report.notes.push(
      `${figureOn(kind, 'fleet refresh')}: calls ${JSON.stringify(counters)} (before the jump: ${atJump - calls0}); credential refreshes per instance ${refreshes.join(', ')}; credential cache misses per instance ${misses.join(', ')}; failed responses ${failed}${failed > 0 ? ` (per instance: ${runs.map((r) => `${JSON.stringify(r.statusCodes)}, ${r.errors} errors, ${r.timeouts} timeouts`).join('; ')})` : ''}; fleet ${fleetDelta(before, after)}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Login burst across three instances against the 50 rps quota.

async function burst(report: Report, kind: RedisKind): Promise<void> {
  const users = 2000;
  const spreadMs = 10_000;
  const giveUpMs = 90_000;
  await withApps({ users, fleet: Array.from({ length: INSTANCES }, () => true), redis: kind }, async (s) => {
    await s.emulator.call('setFault', {
      op: 'GetOpenIdTokenForDeveloperIdentity',
      spec: { throttleRps: QUOTA_RPS },
    });
    log(`fleet burst (${kind}): ${users} users log in over ${INSTANCES} instances within ${spreadMs / 1000} s`);
    const { statuses, bad, retried, connectionErrors, servedAt } = await runBurst({
      ports: s.ports,
      users,
      spreadMs,
      giveUpMs,
    });
    const counters = await s.counters();
    const stats = await s.stats();
    const last = Math.max(...servedAt);
    const tokenCalls = counters.GetOpenIdTokenForDeveloperIdentity ?? 0;
    const perUser = tokenCalls / Math.max(1, servedAt.length);
    const floorMs = (users / QUOTA_RPS) * 1000;
    report.rows.push({
      figure: figureOn(kind, 'fleet: login burst: responses'),
      how: `${users} users log in within ${spreadMs / 1000} s, user i on instance i mod ${INSTANCES} (fleet mode over ${s.redis?.described ?? ''}, the governor's buckets in the fleet's quota store), GetOpenIdTokenForDeveloperIdentity throttled at ${QUOTA_RPS} rps by the one emulator, clients retry after Retry-After: responses other than 200 or 503/429 + Retry-After`,
      measured: `${bad}${connectionErrors > 0 ? ` (and ${connectionErrors} connection resets, retried)` : ''}`,
      goal: '0',
      pass: bad === 0,
    });
    report.rows.push({
      figure: figureOn(kind, 'fleet: login burst: token calls per user'),
      how: 'GetOpenIdTokenForDeveloperIdentity calls the emulator received ÷ users served',
      measured: `${fmt(perUser)} (${tokenCalls} for ${servedAt.length})`,
      goal: '≤ 1.10',
      pass: perUser <= 1.1,
    });
    report.rows.push({
      figure: figureOn(kind, 'fleet: login burst: all served'),
      how: `time until the last user got credentials ÷ the quota floor (users ÷ ${QUOTA_RPS} rps)`,
      measured: `${fmt(last / floorMs)} (${servedAt.length}/${users} in ${fmt(last / 1000, 1)} s, floor ${fmt(floorMs / 1000, 1)} s)`,
      goal: 'reported, all served',
      pass: servedAt.length === users ? undefined : false,
    });
    const refused = stats.map((st) => JSON.stringify(st.broker.quotaRefused)).join(', ');
    const throttled = stats.map((st) => JSON.stringify(st.broker.upstreamThrottles)).join(', ');
    report.notes.push(
      `${figureOn(kind, 'fleet login burst')}: ${JSON.stringify(statuses)}, ${retried} retries, emulator calls ${JSON.stringify(counters)}; per instance: refused by the governor ${refused}; throttled by Cognito ${throttled}`,
    );
  });
}

const kit: FleetKit = { withApps, fleetOf };

/**
 * The fleet group, figure by figure; a figure that fails adds a failed row and the next one runs.
 * The first five run on one redis-server, then on a Redis Cluster (BENCH_FLEET_REDIS=single or
 * cluster runs one kind only); the figures under faults on the single node only.
 */
export async function fleetFigures(report: Report): Promise<void> {
  if (redisServerBinary() === undefined) {
    report.rows.push({
      figure: 'fleet',
      how: 'skipped',
      measured: 'redis-server is not installed (apt-get install redis-server)',
      goal: '',
      pass: undefined,
    });
    return;
  }
  let kinds = redisKindsFrom(process.env.BENCH_FLEET_REDIS);
  if (kinds.includes('cluster') && redisClusterBinaries() === undefined) {
    kinds = kinds.filter((k) => k !== 'cluster');
    report.rows.push({
      figure: figureOn('cluster', 'fleet'),
      how: 'skipped',
      measured: 'redis-cli is not installed (apt-get install redis-server)',
      goal: '',
      pass: undefined,
    });
  }
  const figures: [string, readonly RedisKind[], (r: Report, kind: RedisKind) => Promise<void>][] = [
    ['economy', kinds, economy],
    ['hot', kinds, hotPath],
    ['l2', kinds, sharedHit],
    ['refresh', kinds, refresh],
    ['burst', kinds, burst],
    ['overload', ['single'], (r) => overloadedBurst(r, kit)],
    ['paused', ['single'], (r) => callsPerSecondWhilePaused(r, kit)],
  ];
  // BENCH_FLEET=refresh,l2 runs only those figures of the group (for diagnosis).
  const only = process.env.BENCH_FLEET?.split(',').filter((n) => n !== '');
  for (const [name, on, fn] of figures) {
    if (only !== undefined && only.length > 0 && !only.includes(name)) continue;
    for (const kind of on) {
      if (!kinds.includes(kind)) continue;
      log(`fleet figure: ${name} (${kind})`);
      try {
        await fn(report, kind);
      } catch (err) {
        report.rows.push({
          figure: figureOn(kind, `fleet: ${name}`),
          how: 'failed',
          measured: (err as Error).message.split('\n')[0] ?? '',
          goal: '',
          pass: false,
        });
        log(`fleet ${name} (${kind}) failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }
}
