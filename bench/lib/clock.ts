/**
 * A clock that runs with the wall clock plus an offset, optionally faster than the wall clock from a
 * given wall time on (to sweep across hours of cache life in seconds). The orchestrator sets the same
 * settings in the app and the emulator process, so both see the same time.
 */
export interface ClockSetting {
  /** Milliseconds ahead of `Date.now()`. */
  readonly offsetMs: number;
  /** Clock milliseconds per wall millisecond after `fromWallMs`. Default 1. */
  readonly rate?: number;
  /** Wall time (`Date.now()`) from which `rate` applies. */
  readonly fromWallMs?: number;
  /** Wall milliseconds for which `rate` applies; afterwards the clock runs at rate 1 again. */
  readonly forWallMs?: number;
}

export interface OffsetClock {
  now(): number;
  set(setting: ClockSetting): void;
}

export function offsetClock(): OffsetClock {
  let offset = 0;
  let rate = 1;
  let from = 0;
  let span = Number.POSITIVE_INFINITY;
  return {
    now: () => {
      const wall = Date.now();
      return wall + offset + (rate !== 1 && wall > from ? Math.min(wall - from, span) * (rate - 1) : 0);
    },
    set(s) {
      offset = s.offsetMs;
      rate = s.rate ?? 1;
      from = s.fromWallMs ?? 0;
      span = s.forWallMs ?? Number.POSITIVE_INFINITY;
    },
  };
}
