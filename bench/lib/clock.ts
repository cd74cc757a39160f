/** A clock that runs with the wall clock plus an offset the orchestrator moves (to reach refresh points). */
export interface OffsetClock {
  now(): number;
  /** Sets the offset, milliseconds ahead of `Date.now()`. */
  setOffset(ms: number): void;
  offset(): number;
}

export function offsetClock(): OffsetClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    setOffset(ms) {
      offset = ms;
    },
    offset: () => offset,
  };
}
