// `npm run bench -- scoped`: the classic flow's figures. The example app (with the scoped route of
// bench/lib/scope.ts beside the baseline) over the emulator, in child processes as in run.ts: the
// hot path of GET /aws/credentials/scoped against the baseline route, and the STS and token calls
// per (user, scope) per lifetime.
import type { AppServerStats } from './app-server.js';
import type { EmulatorReady } from './emulator-server.js';
import { forkChild, type Child } from './lib/ipc.js';
import { check, getAll, loginAll, runLoad, type LoadResult } from './lib/load.js';
import { CONNECTIONS, log, ROUND_SECONDS, ROUNDS, type Report } from './lib/report.js';
import { SCOPED_PATH } from './lib/scope.js';
import { fmt, fmtSpread, spread } from './lib/stats.js';
import { BASELINE_PATH } from './lib/users.js';

const SCOPED = `/aws${SCOPED_PATH}`;
const BASELINE = `/aws${BASELINE_PATH}`;
const STS = 'AssumeRoleWithWebIdentity';
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';

interface Stack {
  readonly emulator: Child<EmulatorReady>;
  readonly app: Child<{ port: number }>;
}

async function withStack<T>(users: number, fn: (s: Stack) => Promise<T>): Promise<T> {
  const emulator = await forkChild<EmulatorReady>('emulator-server.ts', {});
  try {
    const e = emulator.ready;
    const app = await forkChild<{ port: number }>('app-server.ts', {
      users,
      upstream: { endpoint: e.endpoint, region: e.region },
      identityPoolId: e.identityPoolId,
      developerProviderName: e.developerProviderName,
    });
    try {
      return await fn({ emulator, app });
    } finally {
      await app.stop();
    }
  } finally {
    await emulator.stop();
  }
}

/** Hot path: GET /aws/credentials/scoped (warm) ÷ the baseline route of the same size, same app. */
async function scopedHotPath(report: Report): Promise<void> {
  const users = 500;
  await withStack(users, async ({ app }) => {
    const port = app.ready.port;
    log(`scoped hot path: logging ${users} users in`);
    const cookies = await loginAll(port, users);
    const body = (await getAll(port, SCOPED, cookies)) as Record<string, string>;
    await app.call('setBaselineBody', body);
    const load = (path: string): Promise<LoadResult> =>
      runLoad({ port, path, cookies, connections: CONNECTIONS, duration: ROUND_SECONDS });
    check(await load(SCOPED), 'warm-up');
    check(await load(BASELINE), 'warm-up');
    const before = await app.call<AppServerStats>('stats');
    const rps: number[] = [];
    const cpu: number[] = [];
    const detail: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [SCOPED, BASELINE] : [BASELINE, SCOPED];
      const res: Record<string, LoadResult> = {};
      const cpuPerRequest: Record<string, number> = {};
      for (const path of order) {
        const c0 = await app.call<NodeJS.CpuUsage>('cpu');
        const r = await load(path);
        const c1 = await app.call<NodeJS.CpuUsage>('cpu');
        check(r, `scoped hot path ${path}`);
        res[path] = r;
        cpuPerRequest[path] = (c1.user + c1.system - c0.user - c0.system) / r.requests;
      }
      const a = res[SCOPED]!;
      const b = res[BASELINE]!;
      rps.push(a.rps / b.rps);
      cpu.push(cpuPerRequest[SCOPED]! / cpuPerRequest[BASELINE]!);
      detail.push(
        `${fmt(a.rps, 0)}/${fmt(b.rps, 0)} req/s, app CPU ${fmt(cpuPerRequest[SCOPED]!, 0)}/${fmt(cpuPerRequest[BASELINE]!, 0)} µs per request`,
      );
      log(`scoped hot path round ${round + 1}: ${detail[detail.length - 1]!} (scoped/baseline)`);
    }
    const after = await app.call<AppServerStats>('stats');
    const misses = after.broker.scoped.misses - before.broker.scoped.misses;
    const t = spread(rps);
    report.rows.push({
      figure: 'scoped credentials hot path: throughput',
      how: `GET /aws/credentials/scoped (warm, ${users} users, a per-user session policy computed per request) ÷ baseline route of the same size behind the same session + passport + router; ${CONNECTIONS} connections, ${ROUNDS} × ${ROUND_SECONDS} s`,
      measured: fmtSpread(t),
      goal: '≥ 0.95',
      pass: t.median >= 0.95,
    });
    report.rows.push({
      figure: 'scoped credentials hot path: CPU',
      how: 'same rounds, CPU time of the app process per request, scoped ÷ baseline',
      measured: fmtSpread(spread(cpu)),
      goal: 'reported',
      pass: undefined,
    });
    report.notes.push(
      `scoped hot path rounds (scoped/baseline): ${detail.join('; ')}; scoped cache misses during the rounds: ${misses}`,
    );
  });
}

/**
 * Upstream economy: cold caches, then a second lifetime (both clocks moved past every refresh point,
 * before the entries stop being served): STS and token calls per (user, scope) per lifetime.
 */
async function scopedEconomy(report: Report): Promise<void> {
  const users = 200;
  const total = 10_000;
  await withStack(users, async ({ app, emulator }) => {
    const port = app.ready.port;
    const cookies = await loginAll(port, users);
    await app.call('forget', { from: 0, to: users });
    await emulator.call('resetCounters');
    const runs = async (what: string): Promise<void> => {
      // Runs of 25 requests for one user: many connections ask for the same cold user at once.
      const r = await runLoad({
        port,
        path: SCOPED,
        cookies,
        connections: 100,
        amount: total,
        pick: (k) => Math.floor(k / 25) % users,
      });
      check(r, what);
      // Background refreshes end after their answers: wait (bounded) until no load runs.
      for (let i = 0; i < 600; i++) {
        if ((await app.call<AppServerStats>('stats')).broker.scoped.loading === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await runs('scoped economy, first lifetime');
    const first = await emulator.call<Record<string, number>>('counters');
    // Default duration 3600 s, grace 300 s: served until 3300 s, refreshed at the latest at 3240 s.
    const setting = { offsetMs: 3_260_000 };
    await Promise.all([app.call('setClock', setting), emulator.call('setClock', setting)]);
    await runs('scoped economy, second lifetime');
    const both = await emulator.call<Record<string, number>>('counters');
    const perSts = (both[STS] ?? 0) / (2 * users);
    const perToken = (both[TOKEN] ?? 0) / (2 * users);
    const other = Object.entries(both).filter(([op]) => op !== STS && op !== TOKEN && op !== 'GetIdentityPoolRoles');
    report.rows.push({
      figure: 'scoped credentials: upstream economy',
      how: `${total} requests from ${users} users (one scope each), 100 connections, cold caches; then the same with both clocks past every refresh point: STS calls and token calls ÷ (users × 2 lifetimes)`,
      measured: `STS ${fmt(perSts)}, token ${fmt(perToken)}`,
      goal: 'STS = 1.00, token ≤ 1.00',
      pass: perSts === 1 && perToken <= 1 && other.length === 0,
    });
    report.notes.push(
      `scoped economy: first lifetime ${JSON.stringify(first)}; both lifetimes ${JSON.stringify(both)}`,
    );
  });
}

/** The classic flow's figures, into `report`. */
export async function scopedFigures(report: Report): Promise<void> {
  await scopedHotPath(report);
  await scopedEconomy(report);
}
