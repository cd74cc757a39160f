// A monotonic time source with timers that fire only when a test advances it: drives the quota
// governor (its `now` and its wait timers) with no sleeps.

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fire: () => void;
}

/** Lets promise callbacks (the governor's async steps) run after a timer fired. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export class ManualTimers {
  #now = 0;
  #next = 1;
  #pending: Pending[] = [];

  /** The time, ms. */
  readonly now = (): number => this.#now;

  readonly setTimeout = (fire: () => void, ms: number): unknown => {
    const timer = { id: this.#next++, at: this.#now + Math.max(0, ms), fire };
    this.#pending.push(timer);
    return timer.id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.#pending = this.#pending.filter((t) => t.id !== handle);
  };

  /** Timers not yet fired. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order, each at its own time. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (;;) {
      const due = this.#pending.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.#pending = this.#pending.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fire();
      await flush();
    }
    this.#now = target;
    await flush();
  }
}
