/**
 * A source of wall-clock time in epoch milliseconds. The broker reads every time it needs through
 * one `Clock` (and hands the same clock to its caches), so tests can drive time by hand.
 */
export interface Clock {
  /** The current time, epoch milliseconds. Need not be monotonic; the broker tolerates jumps. */
  now(): number;
}

/** The default {@link Clock}: `Date.now()`. */
export const systemClock: Clock = Object.freeze({
  now(): number {
    return Date.now();
  },
});
