import { setTimeout as sleep } from 'node:timers/promises';
import type { EmulatorClock, FaultSpec } from './types.js';

/** The error a fault asks the server to answer with. */
export interface InjectedError {
  /** The `__type`, e.g. `TooManyRequestsException`. */
  type: string;
  message: string;
  /** HTTP status: 500 for `InternalErrorException`, else 400. */
  status: number;
}

/** The errors a fault may inject, with the message sent for each: the service's modelled exceptions. */
export const INJECTABLE_ERRORS: Readonly<Record<string, string>> = Object.freeze({
  ConcurrentModificationException: 'Injected fault: concurrent modification.',
  DeveloperUserAlreadyRegisteredException: 'Injected fault: developer user already registered.',
  ExternalServiceException: 'Injected fault: an external service failed.',
  InternalErrorException: 'Injected fault: internal error.',
  InvalidIdentityPoolConfigurationException: 'Injected fault: invalid identity pool configuration.',
  InvalidParameterException: 'Injected fault: invalid parameter.',
  LimitExceededException: 'Injected fault: limit exceeded.',
  NotAuthorizedException: 'Injected fault: not authorized.',
  ResourceConflictException: 'Injected fault: resource conflict.',
  ResourceNotFoundException: 'Injected fault: resource not found.',
  TooManyRequestsException: 'Rate exceeded',
});

/** The `op` that applies a fault to every operation. */
export const ALL_OPERATIONS = '*';

/** Longest latency a fault may add, so a typo cannot hang a test run for hours. */
const MAX_LATENCY_MS = 120_000;
const WINDOW_MS = 1000;

interface ActiveFault {
  readonly spec: Readonly<FaultSpec>;
  /** Calls still to fail when `count` was given. */
  remaining: number | undefined;
  /** Arrival times of the calls let through in the last second, per operation (for `*`, each op has its own window). */
  readonly windows: Map<string, number[]>;
}

/**
 * Checks a {@link FaultSpec} and returns a frozen copy.
 * @throws TypeError naming the bad field.
 */
export function validateFaultSpec(spec: unknown): Readonly<FaultSpec> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new TypeError('fault must be an object with throttleRps, latencyMs, error, count or rate');
  }
  const s = spec as Record<string, unknown>;
  const known = new Set(['throttleRps', 'latencyMs', 'error', 'count', 'rate']);
  for (const key of Object.keys(s)) {
    if (!known.has(key)) throw new TypeError(`fault has an unknown field ${JSON.stringify(key)}`);
  }
  const num = (name: string, max: number, integer: boolean): number | undefined => {
    const v = s[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max || (integer && !Number.isInteger(v))) {
      throw new TypeError(
        `fault.${name} must be ${integer ? 'an integer' : 'a number'} in [0, ${max}], got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const throttleRps = num('throttleRps', 1_000_000, false);
  const latencyMs = num('latencyMs', MAX_LATENCY_MS, false);
  const count = num('count', Number.MAX_SAFE_INTEGER, true);
  const rate = num('rate', 1, false);
  const error = s.error;
  if (error !== undefined && (typeof error !== 'string' || !Object.hasOwn(INJECTABLE_ERRORS, error))) {
    throw new TypeError(
      `fault.error must be one of ${Object.keys(INJECTABLE_ERRORS).join(', ')}; got ${JSON.stringify(error)}`,
    );
  }
  if (error === undefined && (count !== undefined || rate !== undefined)) {
    throw new TypeError('fault.count and fault.rate need fault.error');
  }
  if (count !== undefined && rate !== undefined) {
    throw new TypeError('fault.count and fault.rate cannot be combined');
  }
  const out: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = {};
  if (throttleRps !== undefined) out.throttleRps = throttleRps;
  if (latencyMs !== undefined) out.latencyMs = latencyMs;
  if (error !== undefined) out.error = error;
  if (count !== undefined) out.count = count;
  if (rate !== undefined) out.rate = rate;
  return Object.freeze(out);
}

/**
 * Per-operation call counters and injected faults: throttling past a rate (a sliding one-second
 * window), added latency, and errors for the next N calls or a random fraction of them.
 *
 * A fault set for an operation and one set for `*` both apply: the longer latency is waited, and
 * the operation's own fault is checked before the `*` one. `*` throttles each operation separately,
 * as the service's quotas are per operation.
 */
export class FaultController {
  readonly #clock: EmulatorClock;
  readonly #random: () => number;
  readonly #faults = new Map<string, ActiveFault>();
  #counters: Record<string, number> = Object.create(null) as Record<string, number>;

  /**
   * @param clock Time source for {@link apply} when no time is passed. Default `Date`.
   * @param random Source of [0, 1) numbers for `rate` faults. Default `Math.random`.
   */
  constructor(clock: EmulatorClock = Date, random: () => number = Math.random) {
    this.#clock = clock;
    this.#random = random;
  }

  /**
   * Sets the fault for `op` (an operation name or `*`); `null` removes it. Replaces any previous
   * fault for `op` and restarts its throttling window and `count`.
   * @throws TypeError on an invalid spec or an empty op.
   */
  set(op: string, fault: FaultSpec | null): void {
    if (typeof op !== 'string' || !/^(\*|[A-Za-z]{1,64})$/.test(op)) {
      throw new TypeError(`fault operation must be an operation name or "*", got ${JSON.stringify(op)}`);
    }
    if (fault === null) {
      this.#faults.delete(op);
      return;
    }
    const spec = validateFaultSpec(fault);
    this.#faults.set(op, { spec, remaining: spec.count, windows: new Map() });
  }

  /** The fault set for `op`, if any. */
  get(op: string): Readonly<FaultSpec> | undefined {
    return this.#faults.get(op)?.spec;
  }

  /** Removes every fault. */
  clear(): void {
    this.#faults.clear();
  }

  /** Calls received per operation since the last reset (including failed and throttled calls). */
  counters(): Record<string, number> {
    return { ...this.#counters };
  }

  /** Sets every counter back to zero. */
  resetCounters(): void {
    this.#counters = Object.create(null) as Record<string, number>;
  }

  /** Counts a call of `op` that is answered before faults apply (refused authentication). */
  count(op: string): void {
    this.#counters[op] = (this.#counters[op] ?? 0) + 1;
  }

  /**
   * Counts a call of `op`, decides its fate at arrival time `nowMs`, waits any configured latency,
   * then returns the error to answer with, or null to serve the call normally.
   */
  async apply(op: string, nowMs: number = this.#clock.now()): Promise<InjectedError | null> {
    this.count(op);
    let latency = 0;
    let result: InjectedError | null = null;
    for (const key of [op, ALL_OPERATIONS]) {
      const fault = this.#faults.get(key);
      if (!fault) continue;
      latency = Math.max(latency, fault.spec.latencyMs ?? 0);
      if (result === null) result = this.#decide(fault, op, nowMs);
    }
    if (latency > 0) await sleep(latency);
    return result;
  }

  #decide(fault: ActiveFault, op: string, nowMs: number): InjectedError | null {
    const { spec } = fault;
    if (spec.throttleRps !== undefined) {
      let window = fault.windows.get(op);
      if (!window) {
        window = [];
        fault.windows.set(op, window);
      }
      while (window.length > 0 && (window[0] ?? 0) <= nowMs - WINDOW_MS) window.shift();
      if (window.length >= spec.throttleRps) {
        return { type: 'TooManyRequestsException', message: 'Rate exceeded', status: 400 };
      }
      window.push(nowMs);
    }
    if (spec.error === undefined) return null;
    if (fault.remaining !== undefined) {
      if (fault.remaining <= 0) return null;
      fault.remaining -= 1;
    } else if (spec.rate !== undefined && !(this.#random() < spec.rate)) {
      return null;
    }
    return {
      type: spec.error,
      message: INJECTABLE_ERRORS[spec.error] ?? 'Injected fault.',
      status: spec.error === 'InternalErrorException' ? 500 : 400,
    };
  }
}
