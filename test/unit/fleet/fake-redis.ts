// A fake of the part of node-redis the fleet tier uses: scripts answered by handlers the test
// gives (by script), every call recorded, a subscriber the test delivers messages to. Unit tests
// only: the fleet suites run a real redis-server.
import type { FleetRedisClient, FleetRedisSubscriber, Script } from '../../../src/fleet/runner.js';

export interface FakeCall {
  readonly script: Script;
  readonly keys: readonly string[];
  readonly args: readonly string[];
}

type Handler = (keys: readonly string[], args: readonly string[]) => unknown;

export class FakeSubscriber implements FleetRedisSubscriber {
  isReady = true;
  readonly channels = new Map<string, (message: string, channel: string) => void>();
  readonly #listeners = new Map<string, ((err?: Error) => void)[]>();
  destroyed = false;
  /** Times destroy() was called. */
  destroys = 0;
  /** When set, connect() waits for it. */
  connecting: Promise<void> | undefined;

  on(event: 'error' | 'ready' | 'end', listener: (err?: Error) => void): unknown {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  connect(): Promise<unknown> {
    if (this.connecting !== undefined) return this.connecting.then(() => this);
    return Promise.resolve(this);
  }

  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void> {
    this.channels.set(channel, listener);
    return Promise.resolve();
  }

  destroy(): void {
    this.destroys += 1;
    this.destroyed = true;
  }

  /** Delivers `message` on every subscribed channel. */
  deliver(message: string): void {
    for (const [channel, listener] of this.channels) listener(message, channel);
  }
}

export class FakeRedis implements FleetRedisClient {
  isReady = true;
  readonly calls: FakeCall[] = [];
  readonly subscriber = new FakeSubscriber();
  readonly #handlers = new Map<string, Handler>();

  /** Answers `script` with `handler` (a throw is an error reply). Unanswered scripts reply `null`. */
  answer(script: Script, handler: Handler): void {
    this.#handlers.set(script.sha, handler);
  }

  callsOf(script: Script): FakeCall[] {
    return this.calls.filter((c) => c.script.sha === script.sha);
  }

  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#run(sha, options);
  }

  eval(): Promise<unknown> {
    return Promise.reject(new Error('the fake runs scripts by sha only'));
  }

  duplicate(): FleetRedisSubscriber {
    return this.subscriber;
  }

  on(): unknown {
    return this;
  }

  /** Every string the tier sent to Redis (keys and arguments). */
  sent(): string[] {
    return this.calls.flatMap((c) => [...c.keys, ...c.args]);
  }

  #scripts = new Map<string, Script>();

  /** Registers the scripts the test expects, so that calls record which script ran. */
  know(...scripts: Script[]): void {
    for (const s of scripts) this.#scripts.set(s.sha, s);
  }

  async #run(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    await Promise.resolve();
    const script = this.#scripts.get(sha) ?? { sha, source: '' };
    this.calls.push({ script, keys: [...options.keys], args: [...options.arguments] });
    const handler = this.#handlers.get(sha);
    return handler === undefined ? null : handler(options.keys, options.arguments);
  }
}
