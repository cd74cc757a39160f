// The emulator in its own process (as Cognito is remote): bench/run.ts forks it, reads its endpoint
// over IPC, moves its clock, reads counters and sets faults. Run with --cpu-prof for the emulator figure;
// with `stateFile` in its config for durable answers.
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

serveParent(
  {
    setClock: (setting: ClockSetting) => {
      clock.set(setting);
    },
    counters: () => emulator.counters(),
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
    endpoint: emulator.endpoint,
    region: emulator.region,
    identityPoolId: pool.identityPoolId,
    developerProviderName: BENCH_POOL.developerProviderName,
  } satisfies EmulatorReady,
);
