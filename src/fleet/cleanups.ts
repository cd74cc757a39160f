import { RedisUnavailable, type RedisRunner, type Script } from './runner.js';

/** Most clean-up steps kept while Redis is out; beyond, the oldest is dropped (it expires with its TTL). */
const MAX_CLEANUPS = 1000;

interface Cleanup {
  readonly script: Script;
  readonly keys: string[];
  readonly args: string[];
}

/**
 * Clean-up steps (a lease or lock release) to run once Redis answers again: a command that timed
 * out may still have run and taken what it asked for. Bounded; a lost one expires with its TTL.
 */
export class CleanupQueue {
  readonly #runner: RedisRunner;
  readonly #steps: Cleanup[] = [];
  #closed = false;

  constructor(runner: RedisRunner) {
    this.#runner = runner;
  }

  get size(): number {
    return this.#steps.length;
  }

  /**
   * Keeps `script` to run once Redis answers again, after the step it cleans up after failed with
   * `err`. A refusal that retrying cannot fix (MOVED to a single-node client, NOPERM, CROSSSLOT, …)
   * is not kept: the clean-up would be refused the same way for ever, and each try would degrade
   * the tier again right after it recovered. What it would free expires with its TTL.
   */
  later(script: Script, keys: string[], args: string[], err?: unknown): void {
    // The runner says whether the step was refused for good (RedisUnavailable.problem).
    if (this.#closed || (err instanceof RedisUnavailable && err.problem !== undefined)) return;
    if (this.#steps.length >= MAX_CLEANUPS) this.#steps.shift();
    this.#steps.push({ script, keys, args });
  }

  /** Runs `script` now; kept for later when Redis does not take it. */
  now(script: Script, keys: string[], args: string[]): void {
    this.#runner.run(script, keys, args).catch((err: unknown) => {
      this.later(script, keys, args, err);
    });
  }

  /** Runs every kept step (Redis answers again). */
  flush(): void {
    for (const c of this.#steps.splice(0)) this.now(c.script, c.keys, c.args);
  }

  close(): void {
    this.#closed = true;
    this.#steps.length = 0;
  }
}
