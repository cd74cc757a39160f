/**
 * Where one instance stands in the fleet's change feed: the epoch (renewed whenever Redis lost or
 * rolled back the feed) and the sequence number of the last change it applied. Pure: it decides
 * what to do with a wake-up message or a read of the change log, and the feed does it.
 */

/** A change as read from the log: its sequence number and the rest of the record. */
export interface LoggedChange<R> {
  readonly seq: number;
  readonly record: R;
}

/** What to do after a read of the change log. */
export interface CatchUp<R> {
  /** Drop every cached entry: changes may have been missed (another epoch, a gap, a late start). */
  readonly dropAll: boolean;
  /** Changes not applied yet, oldest first (empty when `dropAll`). */
  readonly apply: readonly R[];
}

export class ChangeCursor {
  #epoch: string | undefined;
  #seq = 0;
  /** A read of the log failed before the first one succeeded. */
  #missedAtStart = false;
  /** Something was served without the tier before the first read of the log succeeded. */
  #servedAlone = false;

  /** The epoch known (`''`: nothing was ever published), `undefined` before the first read. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  get seq(): number {
    return this.#seq;
  }

  /** A read of the change log failed. */
  readFailed(): void {
    if (this.#epoch === undefined) this.#missedAtStart = true;
  }

  /** An entry was loaded without the tier (Redis out). */
  servedAlone(): void {
    if (this.#epoch === undefined) this.#servedAlone = true;
  }

  /**
   * A wake-up message announced change `seq` of `epoch`. True when it is the next one (the cursor
   * moves on; the caller applies it); false when the log must be read (a gap, another epoch, an
   * old or repeated number).
   */
  next(epoch: string, seq: number): boolean {
    const isNext = (epoch === this.#epoch && seq === this.#seq + 1) || (this.#epoch === '' && seq === 1);
    if (!isNext) return false;
    this.#epoch = epoch;
    this.#seq = seq;
    return true;
  }

  /**
   * The log read: its epoch and sequence, and the changes newest first (`'gap'` when it no longer
   * holds every change since the cursor's).
   */
  caughtUp<R>(epoch: string, seq: number, changes: readonly LoggedChange<R>[] | 'gap'): CatchUp<R> {
    const first = this.#epoch === undefined;
    const sameEpoch = epoch === this.#epoch || (this.#epoch === '' && epoch !== '');
    let out: CatchUp<R>;
    if (first) {
      // The first look: whatever happened before this instance started is not in its cache, unless
      // it has been serving since an earlier look failed.
      out = { dropAll: this.#missedAtStart && this.#servedAlone, apply: [] };
    } else if (!sameEpoch || changes === 'gap') {
      // Another epoch (Redis flushed, restarted or rolled back), or more changes than the log holds.
      out = { dropAll: true, apply: [] };
    } else {
      const known = this.#seq;
      out = {
        dropAll: false,
        apply: changes
          .filter((c) => c.seq > known)
          .sort((a, b) => a.seq - b.seq)
          .map((c) => c.record),
      };
    }
    this.#epoch = epoch;
    this.#seq = seq;
    return out;
  }
}
