import type { Change } from './change-record.js';

/** Buckets the users and identities are hashed into (a collision costs a load, never a stale entry). */
export const INDEX_BUCKETS = 1 << 14;

/**
 * What one instance knows of the fleet's changes, to tell a current shared entry from a stale one
 * without reading a key of another slot: per bucket of users and identities (a keyed-free hash of
 * the id into {@link INDEX_BUCKETS}), the number of the last change that named one of them. A
 * shared entry records the change number `s` its load began under (and the feed's epoch `a`); it
 * is current here when no change this instance knows of, numbered after `s`, names its user's or
 * identity's bucket (or every entry), and this instance knows every change after `s` (its horizon
 * is at most `s`). An instance learns changes from the log, as it applies them to its own cache: a
 * shared entry is judged exactly as fresh as the instance's own first level. Fixed size: nothing is
 * forgotten, and two names in one bucket only make an entry look stale.
 *
 * Pure: the change feed feeds it.
 */
export class ChangeIndex {
  #epoch: string | undefined;
  /** Every change numbered above the horizon is known (none below it is). */
  #horizon = Number.POSITIVE_INFINITY;
  /** The number of the last change of every entry (or of a record that could not be read). */
  #all = 0;
  readonly #last = new Float64Array(INDEX_BUCKETS);

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
    this.#last.fill(0);
  }

  /**
   * Change `seq` of `epoch`; `undefined` for a record that could not be read (it may have named
   * anyone: every entry loaded before it is stale).
   */
  add(epoch: string, seq: number, change: Change | undefined): void {
    if (epoch !== this.#epoch || !Number.isSafeInteger(seq) || seq <= this.#horizon) return;
    if (change === undefined || change.all === true) {
      this.#all = Math.max(this.#all, seq);
      return;
    }
    for (const u of change.u) this.#raise(`u:${u}`, seq);
    for (const i of change.i) this.#raise(`i:${i}`, seq);
  }

  /**
   * Whether an entry loaded from change `s` of epoch `a` for `userId` and `identityId` is current:
   * no change known after `s` names either (or shares its bucket), and every change after `s` is known.
   */
  current(a: string, s: number, userId: string | undefined, identityId: string | undefined): boolean {
    if (a !== this.#epoch || !Number.isSafeInteger(s) || s < this.#horizon || s < this.#all) return false;
    if (userId !== undefined && (this.#last[bucket(`u:${userId}`)] ?? 0) > s) return false;
    if (identityId !== undefined && (this.#last[bucket(`i:${identityId}`)] ?? 0) > s) return false;
    return true;
  }

  #raise(name: string, seq: number): void {
    const b = bucket(name);
    if ((this.#last[b] ?? 0) < seq) this.#last[b] = seq;
  }
}

/** FNV-1a (32 bits) of `name`, into a bucket. */
function bucket(name: string): number {
  let h = 0x811c9dc5;
  for (let n = 0; n < name.length; n++) {
    h ^= name.charCodeAt(n);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (INDEX_BUCKETS - 1);
}
