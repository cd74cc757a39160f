// Fleet figures under faults (`BENCH_FLEET=overload,paused npm run bench -- fleet`): the login burst
// on an overloaded host (busy-loop processes on every core), fleet and single process in the same
// run; and the Cognito calls per second while Redis is paused. Ratios and counts, none asserted on
// time.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppServerStats } from './app-server.js';
import type { Apps, fleetOf as FleetOf, withApps as WithApps } from './fleet.js';
import { runBurst } from './lib/burst.js';
import { liveChildren } from './lib/ipc.js';
import { log, QUOTA_RPS, type Report } from './lib/report.js';
import { fmt } from './lib/stats.js';

const INSTANCES = 3;
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';

/** What the fleet group lends these figures (passed in rather than imported: no import cycle). */
export interface FleetKit {
  readonly withApps: typeof WithApps;
  readonly fleetOf: typeof FleetOf;
}

/** Processes that spin on a core each until stopped: an overloaded host. */
async function withBusyHost<T>(processes: number, fn: () => Promise<T>): Promise<T> {
  const spinners: ChildProcess[] = [];
  try {
    for (let i = 0; i < processes; i++) {
      const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      liveChildren.add(child);
      spinners.push(child);
    }
    return await fn();
  } finally {
    await Promise.all(
      spinners.map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }
        liveChildren.delete(child);
      }),
    );
  }
}

function redisErrors(kit: FleetKit, stats: readonly AppServerStats[]): string {
  return stats
    .map((st) => {
      const f = st.broker.fleet === undefined ? undefined : kit.fleetOf(st);
      return f === undefined ? 'per process' : `${f.redisErrors} Redis errors, ${f.degradations} degradations`;
    })
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// 6. The login burst on an overloaded host: fleet (3 instances) and one process, same busy host.

export async function overloadedBurst(report: Report, kit: FleetKit): Promise<void> {
  const users = 2000;
  const spreadMs = 10_000;
  const giveUpMs = 120_000;
  const spinners = 3 * cpus().length;
  const results: { mode: string; bad: number; served: number; perUser: number; detail: string }[] = [];
  await withBusyHost(spinners, async () => {
    for (const mode of ['fleet', 'one process'] as const) {
      const fleet = mode === 'fleet' ? Array.from({ length: INSTANCES }, () => true) : [false];
      await kit.withApps({ users, fleet }, async (s: Apps) => {
        await s.emulator.call('setFault', { op: TOKEN, spec: { throttleRps: QUOTA_RPS } });
        log(`overloaded burst (${mode}): ${users} users within ${spreadMs / 1000} s beside ${spinners} busy loops`);
        const r = await runBurst({ ports: s.ports, users, spreadMs, giveUpMs });
        const counters = await s.counters();
        const stats = await s.stats();
        const tokenCalls = counters[TOKEN] ?? 0;
        const perUser = tokenCalls / Math.max(1, r.servedAt.length);
        results.push({
          mode,
          bad: r.bad,
          served: r.servedAt.length,
          perUser,
          detail:
            `${mode}: ${JSON.stringify(r.statuses)}, ${r.retried} retries, ${tokenCalls} token calls for ${r.servedAt.length} users, ` +
            `last served at ${fmt(Math.max(0, ...r.servedAt) / 1000, 1)} s; ${redisErrors(kit, stats)}`,
        });
        log(`overloaded burst: ${results[results.length - 1]!.detail}`);
      });
    }
  });
  for (const r of results) {
    report.rows.push({
      figure: `overloaded host: login burst (${r.mode}): responses`,
      how: `${users} users log in within ${spreadMs / 1000} s${r.mode === 'fleet' ? ` over ${INSTANCES} instances in fleet mode` : ' on one app process'} while ${spinners} busy-loop processes spin on the ${cpus().length} cores; GetOpenIdTokenForDeveloperIdentity throttled at ${QUOTA_RPS} rps, clients retry after Retry-After (giving up after ${giveUpMs / 1000} s): responses other than 200 or 503/429 + Retry-After, and users not served`,
      measured: `${r.bad} (served ${r.served}/${users})`,
      goal: '0, all served',
      pass: r.bad === 0 && r.served === users,
    });
    report.rows.push({
      figure: `overloaded host: login burst (${r.mode}): token calls per user`,
      how: 'GetOpenIdTokenForDeveloperIdentity calls the emulator received ÷ users served',
      measured: fmt(r.perUser),
      goal: '≤ 1.10',
      pass: r.perUser <= 1.1,
    });
  }
  report.notes.push(`overloaded login burst: ${results.map((r) => r.detail).join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// 7. Cognito calls per second while Redis is paused: the degraded instances take their shares.

/** The most of `times` (ms, sorted) in any window of `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while (times[to]! - times[from]! >= windowMs) from += 1;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

export async function callsPerSecondWhilePaused(report: Report, kit: FleetKit): Promise<void> {
  // About twice the quota offered: enough to find any excess, not so much that the host thrashes.
  const users = 1500;
  const spreadMs = 15_000;
  const pauseAtMs = 4000;
  const pauseMs = 5000;
  await kit.withApps(
    { users, fleet: Array.from({ length: INSTANCES }, () => true), emulator: { recordOps: [TOKEN] } },
    async (s: Apps) => {
      const redis = s.redis;
      if (redis === undefined) throw new Error('no redis-server');
      log(`paused Redis: ${users} users log in over ${INSTANCES} instances; Redis paused ${pauseMs / 1000} s`);
      const started = Date.now();
      let pausedAt = 0;
      let resumedAt = 0;
      const pausing = (async () => {
        await sleep(pauseAtMs);
        pausedAt = Date.now();
        redis.pause();
        await sleep(pauseMs);
        redis.resume();
        resumedAt = Date.now();
      })();
      const r = await runBurst({ ports: s.ports, users, spreadMs, giveUpMs: 90_000 });
      await pausing;
      const times = [...(await s.emulator.call<number[]>('callTimes', { op: TOKEN }))].sort((a, b) => a - b);
      const stats = await s.stats();
      // While paused, and the hand-over after it (the instances see Redis again within a few seconds).
      const paused = times.filter((t) => t >= pausedAt && t < resumedAt + 4000);
      const before = times.filter((t) => t >= started && t < pausedAt);
      const most = maxInWindow(paused, 1000);
      report.rows.push({
        figure: 'fleet: Cognito calls per second while Redis is paused',
        how: `${users} users log in within ${spreadMs / 1000} s over ${INSTANCES} instances in fleet mode (offered far over the ${QUOTA_RPS} rps token quota; no throttling by the emulator, so every call the fleet sends is counted); redis-server paused (SIGSTOP) ${pauseAtMs / 1000} s in, for ${pauseMs / 1000} s: the most GetOpenIdTokenForDeveloperIdentity calls received in any 1 s window from the pause to 4 s after it ended ÷ the quota`,
        measured: `${fmt(most / QUOTA_RPS)} (${most} calls; before the pause ${maxInWindow(before, 1000)}; whole run ${maxInWindow(times, 1000)})`,
        goal: '≤ 1.05',
        pass: most <= 1.05 * QUOTA_RPS,
      });
      // Token calls in each second from the start (the pause from ${pauseAtMs / 1000} s to ${(pauseAtMs + pauseMs) / 1000} s).
      const perSecond: number[] = [];
      for (const t of times) {
        const k = Math.max(0, Math.floor((t - started) / 1000));
        while (perSecond.length <= k) perSecond.push(0);
        perSecond[k]! += 1;
      }
      report.notes.push(
        `paused Redis: token calls per second from the start ${perSecond.join(' ')}; ${JSON.stringify(r.statuses)}, ${r.retried} retries, ${times.length} token calls, ${r.servedAt.length}/${users} served, ${r.bad} bad; ${redisErrors(kit, stats)}`,
      );
    },
  );
}
