// The broker's observable instruments (cache lookups, entries, loads, calls in flight, clock skew,
// the fleet tier's events): registered once on a meter, read by one batch callback at collection.
import type { BatchObservableResult, Meter, Observable, ObservableGauge } from '@opentelemetry/api';
import type { CacheStats, FleetStats } from './seam-types.js';
import { ATTR, METRIC } from './telemetry-names.js';

/** What the observable instruments read, at collection time only. */
export interface TelemetrySource {
  readonly caches: Readonly<Record<string, { stats(): CacheStats }>>;
  /** Cognito calls running now. */
  inFlight(): number;
  /** Cognito's clock minus ours, ms. */
  clockOffsetMs(): number;
  /** The fleet tier's counters, when the broker has one. */
  fleet(): FleetStats | undefined;
}

/** `FleetStats` counters as the values of `cognito_broker.fleet.event`. */
const FLEET_EVENTS: readonly (readonly [Exclude<keyof FleetStats, 'state' | 'redis' | 'problem'>, string])[] = [
  ['sharedHits', 'shared_hit'],
  ['sharedLoads', 'shared_load'],
  ['leaseWaits', 'lease_wait'],
  ['leaseTakeovers', 'lease_takeover'],
  ['entriesRejected', 'entry_rejected'],
  ['invalidationsPublished', 'change_published'],
  ['invalidationsApplied', 'change_applied'],
  ['resyncDrops', 'resync_drop'],
  ['degradations', 'degraded'],
  ['redisErrors', 'redis_error'],
];

/**
 * Registers the observable instruments on `meter`, all read by one batch callback that calls
 * `source()` at each collection; once it returns `undefined` (its broker was collected), the
 * callback unregisters itself.
 */
export function registerObservables(meter: Meter, source: () => TelemetrySource | undefined): void {
  const lookups = meter.createObservableCounter(METRIC.cacheLookups, {
    description: 'Cache lookups by level and result (hit, stale_served, refresh_ahead, miss)',
    unit: '{lookup}',
  });
  const coalesced = meter.createObservableCounter(METRIC.cacheCoalesced, {
    description: 'Callers that joined a load already running instead of starting one',
    unit: '{caller}',
  });
  const evictions = meter.createObservableCounter(METRIC.cacheEvictions, {
    description: 'Entries evicted by the cache bound',
    unit: '{entry}',
  });
  const entries: ObservableGauge = meter.createObservableGauge(METRIC.cacheEntries, {
    description: 'Entries in the cache',
    unit: '{entry}',
  });
  const loads = meter.createObservableUpDownCounter(METRIC.cacheActiveLoads, {
    description: 'Cache loads (first loads and background refreshes) running',
    unit: '{load}',
  });
  const calls = meter.createObservableUpDownCounter(METRIC.upstreamActiveCalls, {
    description: 'Cognito calls running',
    unit: '{call}',
  });
  const skew = meter.createObservableGauge(METRIC.clockSkew, {
    description: "Cognito's clock minus the local clock, measured from the last token's iat",
    unit: 's',
  });
  const fleetEvents = meter.createObservableCounter(METRIC.fleetEvents, {
    description: "The fleet tier's events (shared hits and loads, lease waits, changes, degradations)",
    unit: '{event}',
  });
  const fleetShared: ObservableGauge = meter.createObservableGauge(METRIC.fleetShared, {
    description: '1 while the fleet tier shares through Redis, 0 while it works per process',
    unit: '1',
  });
  const observables: Observable[] = [
    lookups,
    coalesced,
    evictions,
    entries,
    loads,
    calls,
    skew,
    fleetEvents,
    fleetShared,
  ];
  const callback = (result: BatchObservableResult): void => {
    const s = source();
    if (s === undefined) {
      meter.removeBatchObservableCallback(callback, observables);
      return;
    }
    for (const [name, cache] of Object.entries(s.caches)) {
      const st = cache.stats();
      const memory = { [ATTR.cache]: name, [ATTR.level]: 'memory' };
      const fresh = st.hits - st.staleServed - st.refreshAhead;
      result.observe(lookups, fresh, { ...memory, [ATTR.result]: 'hit' });
      result.observe(lookups, st.staleServed, { ...memory, [ATTR.result]: 'stale_served' });
      result.observe(lookups, st.refreshAhead, { ...memory, [ATTR.result]: 'refresh_ahead' });
      result.observe(lookups, st.misses, { ...memory, [ATTR.result]: 'miss' });
      result.observe(coalesced, st.coalesced, memory);
      result.observe(evictions, st.evictions, memory);
      result.observe(entries, st.size, memory);
      result.observe(loads, st.loading, memory);
    }
    result.observe(calls, s.inFlight());
    result.observe(skew, s.clockOffsetMs() / 1000);
    const fleet = s.fleet();
    if (fleet !== undefined) {
      for (const [field, event] of FLEET_EVENTS)
        result.observe(fleetEvents, fleet[field], { [ATTR.fleetEvent]: event });
      result.observe(fleetShared, fleet.state === 'shared' ? 1 : 0);
    }
  };
  meter.addBatchObservableCallback(callback, observables);
}
