// The one clock of the test suites. It satisfies the broker's `Clock`, the middleware's rate-limit
// clock and the emulator's clock (all three are `{ now(): number }`), so one value can drive all three.

/** 2026-01-01T00:00:00Z. Never 0: lru-cache treats a start time of 0 as "no TTL". */
export const CLOCK_START_MS = Date.UTC(2026, 0, 1);

/** A clock (epoch milliseconds) that only moves when a test moves it. */
export class ManualClock {
  #ms: number;

  constructor(startMs = CLOCK_START_MS) {
    this.#ms = startMs;
  }

  now(): number {
    return this.#ms;
  }

  /** Moves the clock forward (or back, with a negative value) by `ms` milliseconds. */
  advance(ms: number): void {
    this.#ms += ms;
  }

  /** Moves the clock forward (or back) by `s` seconds. */
  advanceSeconds(s: number): void {
    this.#ms += s * 1000;
  }

  set(ms: number): void {
    this.#ms = ms;
  }
}
