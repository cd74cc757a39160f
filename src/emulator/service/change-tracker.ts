import type { RegionalServices, RegionChange, RegionsDelta } from './regions.js';

interface Touched {
  added: boolean;
  readonly pools: Set<string>;
  readonly identities: Set<string>;
}

/**
 * Collects what calls changed, region by region, between two commits of the state file: the
 * seam between the service, which names the records each call touches, and the log, which writes
 * those records as they are when the commit starts.
 */
export class ChangeTracker {
  #touched = new Map<string, Touched>();

  /** Notes one call's change. */
  note(change: RegionChange): void {
    let t = this.#touched.get(change.region);
    if (t === undefined) {
      t = { added: false, pools: new Set(), identities: new Set() };
      this.#touched.set(change.region, t);
    }
    if (change.added === true) t.added = true;
    for (const id of change.pools ?? []) t.pools.add(id);
    for (const id of change.identities ?? []) t.identities.add(id);
  }

  /**
   * The records changed since the last take (or clear), as they are in `regions` now, and forgets
   * them; `undefined` when nothing changed. The records are live objects: serialise them at once.
   */
  take(regions: RegionalServices): RegionsDelta | undefined {
    if (this.#touched.size === 0) return undefined;
    const touched = this.#touched;
    this.#touched = new Map();
    const delta: RegionsDelta = { regions: {} };
    for (const [region, t] of touched) {
      // A region not in `regions` went back to what is on disk (a failed commit): nothing to write.
      const svc = regions.get(region);
      if (svc === undefined) continue;
      delta.regions[region] = {
        ...(t.added ? { signer: svc.state.signer.toJSON() } : {}),
        ...svc.state.delta(t.pools, t.identities),
      };
    }
    return delta;
  }

  /** Forgets every change noted (they are refused, or held by a snapshot). */
  clear(): void {
    this.#touched = new Map();
  }
}
