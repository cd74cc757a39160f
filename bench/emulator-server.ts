// The emulator in its own process (as Cognito is remote): bench/run.ts forks it, reads its endpoint
// over IPC, moves its clock, reads counters and sets faults. Run with --cpu-prof for the emulator figure;
// with `stateFile` in its config for durable answers.
import { createServer, request, Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startEmulator, type FaultSpec } from '../src/emulator/index.js';
import { offsetClock, type ClockSetting } from './lib/clock.js';
import { serveParent } from './lib/ipc.js';

/** What the orchestrator gets when the emulator is ready. */
export interface EmulatorReady {
  readonly endpoint: string;
  readonly region: string;
  readonly identityPoolId: string;
  readonly developerProviderName: string;
}

export const BENCH_POOL = {
  name: 'bench-pool',
  developerProviderName: 'login.bench.app',
  allowUnauthenticatedIdentities: false,
  // The classic flow (bench/scoped.ts): STS refuses it on a pool that does not allow it.
  allowClassicFlow: true,
} as const;

/** How the orchestrator configures this process (JSON in argv[2]). */
export interface EmulatorServerConfig {
  /** Keep state in this file: every answer to a changing call waits for its fsync'd commit. */
  readonly stateFile?: string;
  /**
   * Answer through a recording proxy in this process: the time each call of these operations
   * arrives is kept (`callTimes`), for figures that count calls in any 1 s window.
   */
  readonly recordOps?: readonly string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as EmulatorServerConfig;
const clock = offsetClock();
const emulator = await startEmulator({
  host: '127.0.0.1',
  port: 0,
  clock,
  seed: [BENCH_POOL],
  ...(config.stateFile === undefined ? {} : { stateFile: config.stateFile }),
});
const pool = emulator.pools[0]!;

/** Arrival times (ms since the epoch, sub-ms) of the recorded operations' calls. */
const arrivals = new Map<string, number[]>();
let endpoint = emulator.endpoint;
if (config.recordOps !== undefined && config.recordOps.length > 0) {
  const recorded = new Set(config.recordOps);
  const target = new URL(emulator.endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = createServer((req, res) => {
    // The Cognito JSON protocol names the operation in X-Amz-Target: `AWSCognitoIdentityService.<op>`.
    const op =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    if (recorded.has(op)) {
      const list = arrivals.get(op) ?? [];
      list.push(performance.timeOrigin + performance.now());
      arrivals.set(op, list);
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}

serveParent(
  {
    setClock: (setting: ClockSetting) => {
      clock.set(setting);
    },
    counters: () => emulator.counters(),
    callTimes: ({ op }: { op: string }) => arrivals.get(op) ?? [],
    resetCounters: () => {
      emulator.resetCounters();
    },
    setFault: ({ op, spec }: { op: string; spec: FaultSpec | null }) => {
      emulator.setFault(op, spec);
    },
    clearFaults: () => {
      emulator.clearFaults();
    },
    stop: async () => {
      await emulator.stop();
      // Let the reply go out, then exit so that --cpu-prof writes its profile.
      setTimeout(() => process.exit(0), 20);
    },
  },
  {
    endpoint,
    region: emulator.region,
    identityPoolId: pool.identityPoolId,
    developerProviderName: BENCH_POOL.developerProviderName,
  } satisfies EmulatorReady,
);
