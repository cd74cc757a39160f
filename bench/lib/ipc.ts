// A tiny request/response protocol over Node's IPC channel between the bench orchestrator and the
// processes it forks (the app server, the emulator, the memory probe, the SDK driver).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

interface Response {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

/** The handlers a child exposes: command name → async function of its argument. */
export type Handlers = Record<string, (args: never) => unknown>;

/**
 * In a forked child: answers the parent's requests with `handlers`, then tells the parent it is
 * ready with `ready` (e.g. its port).
 */
export function serveParent(handlers: Handlers, ready: unknown): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this module must be started by bench/run.ts (no IPC channel)');
  process.on('message', (raw: Request) => {
    const handler = handlers[raw.cmd];
    void (async () => {
      let reply: Response;
      try {
        if (handler === undefined) throw new Error(`unknown command ${raw.cmd}`);
        reply = { id: raw.id, ok: true, result: await (handler as (a: unknown) => unknown)(raw.args) };
      } catch (err) {
        reply = { id: raw.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      send(reply);
    })();
  });
  // A parent that dies must not leave us running.
  handlers = { ...handlers, cpu: () => process.cpuUsage() };
  process.on('disconnect', () => {
    process.exit(0);
  });
  send({ id: 0, ok: true, result: ready });
}

/** The parent's handle on a forked child. */
export interface Child<R> {
  readonly ready: R;
  readonly process: ChildProcess;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  /** Asks the child to stop (`stop` command), waits for its exit, kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Every child still running, so the orchestrator can stop them all on the way out. */
export const liveChildren = new Set<ChildProcess>();

/**
 * Forks `module` (a path relative to bench/) under tsx with `nodeArgs`, passing `config` as JSON in
 * argv (and `env` added to the environment: for secrets, which argv would show to `ps`), and waits
 * for its ready message.
 */
export async function forkChild<R>(
  module: string,
  config: unknown,
  nodeArgs: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<Child<R>> {
  const path = fileURLToPath(new URL(`../${module}`, import.meta.url));
  const child = fork(path, [JSON.stringify(config)], {
    // BENCH_CHILD_ARGS: extra node flags for every child, for diagnosis (e.g. --trace-gc-nvp).
    execArgv: [
      ...nodeArgs,
      ...(process.env.BENCH_CHILD_ARGS?.split(' ').filter((a) => a !== '') ?? []),
      '--import',
      'tsx',
    ],
    // The SDK's notice that Node 20 support ends in 2027 would interleave with the bench's output.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  liveChildren.add(child);
  const exited = once(child, 'exit').then(() => {
    liveChildren.delete(child);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let readyResolve: (v: unknown) => void = () => undefined;
  const ready = new Promise((resolve) => {
    readyResolve = resolve;
  });
  child.on('message', (m: Response) => {
    if (m.id === 0) {
      readyResolve(m.result);
      return;
    }
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${module}: ${m.error ?? 'failed'}`));
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`${module} exited (code ${String(child.exitCode)})`));
    pending.clear();
  });
  const readyValue = (await Promise.race([
    ready,
    exited.then(() => {
      throw new Error(`${module} exited before it was ready (code ${String(child.exitCode)})`);
    }),
  ])) as R;
  return {
    ready: readyValue,
    process: child,
    call<T>(cmd: string, args?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    async stop(graceMs = 10_000): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        child.send({ id: nextId++, cmd: 'stop', args: null } satisfies Request);
      } catch {
        child.kill('SIGTERM');
      }
      await exited;
      clearTimeout(timer);
    },
  };
}
