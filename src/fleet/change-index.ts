import type { Change } from './change-record.js';

/** Changes an index keeps (the change log holds as many): older ones raise its horizon. */
export const INDEX_CHANGES = 1024;

/**
 * What one instance knows of the fleet's changes, to tell a current shared entry from a stale one
 * without reading a key of another slot: per user and identity, the number of the last change that
 * named it. A shared entry records the change number `s` its load began under (and the feed's
 * epoch `a`); it is current here when no change this instance knows of, numbered after `s`, names
 * its user or identity (or every entry), and this instance knows every change after `s` (its
 * horizon is at most `s`). An instance learns changes from the log, as it applies them to its own
 * cache: a shared entry is judged exactly as fresh as the instance's own first level.
 *
 * Pure: the change feed feeds it.
 */
export class ChangeIndex {
  #epoch: string | undefined;
  /** Every change numbered above the horizon is known (none below it is). */
  #horizon = Number.POSITIVE_INFINITY;
  /** The number of the last change of every entry (or of a record that could not be read). */
  #all = 0;
  readonly #last = new Map<string, number>();
  /** The changes known, by number (the oldest are forgotten past {@link INDEX_CHANGES}). */
  readonly #known = new Map<number, readonly string[]>();

  get epoch(): string | undefined {
    return this.#epoch;
  }

  get horizon(): number {
    return this.#horizon;
  }

  /** Starts over in `epoch`: every change after `horizon` will be given (none before is known). */
  reset(epoch: string, horizon: number): void {
    this.#epoch = epoch;
    this.#horizon = horizon;
    this.#all = 0;
    this.#last.clear();
    this.#known.clear();
  }

  /**
   * Change `seq` of `epoch`; `undefined` for a record that could not be read (it may have named
   * anyone: every entry loaded before it is stale).
   */
  add(epoch: string, seq: number, change: Change | undefined): void {
    if (epoch !== this.#epoch || seq <= this.#horizon || this.#known.has(seq)) return;
    const names =
      change === undefined || change.all === true
        ? []
        : [...change.u.map((u) => `u:${u}`), ...change.i.map((i) => `i:${i}`)];
    if (change === undefined || change.all === true) this.#all = Math.max(this.#all, seq);
    for (const n of names) this.#last.set(n, Math.max(this.#last.get(n) ?? 0, seq));
    this.#known.set(seq, names);
    if (this.#known.size > INDEX_CHANGES) this.#forgetOldest();
  }

  /**
   * Whether an entry loaded from change `s` of epoch `a` for `userId` and `identityId` is current:
   * no change known after `s` names either, and every change after `s` is known.
   */
  current(a: string, s: number, userId: string | undefined, identityId: string | undefined): boolean {
    if (a !== this.#epoch || !Number.isSafeInteger(s) || s < this.#horizon || s < this.#all) return false;
    if (userId !== undefined && (this.#last.get(`u:${userId}`) ?? 0) > s) return false;
    if (identityId !== undefined && (this.#last.get(`i:${identityId}`) ?? 0) > s) return false;
    return true;
  }

  /** Forgets the oldest half of the changes known; the horizon rises past them. */
  #forgetOldest(): void {
    const seqs = [...this.#known.keys()].sort((x, y) => x - y);
    for (const seq of seqs.slice(0, seqs.length >> 1)) {
      for (const n of this.#known.get(seq) ?? []) if (this.#last.get(n) === seq) this.#last.delete(n);
      this.#known.delete(seq);
      this.#horizon = Math.max(this.#horizon, seq);
    }
  }
}
