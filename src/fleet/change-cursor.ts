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
   * Whether a wake-up announcing change `seq` of `epoch` may be news: true unless the cursor has
   * that change already. Never moves the cursor: a message is anyone's to publish, so changes are
   * taken from the log only.
   */
  isNews(epoch: string, seq: number): boolean {
    return epoch !== this.#epoch || !(seq <= this.#seq);
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
      const fresh = new Map<number, R>();
      let repeated = false;
      for (const c of changes) {
        if (c.seq <= known || c.seq > seq) continue;
        if (fresh.has(c.seq)) repeated = true;
        fresh.set(c.seq, c.record);
      }
      // Every number from the cursor's to the log's, each once: anything else is a log altered in
      // Redis (or lost), and what was missed cannot be known.
      const complete = !repeated && seq >= known && fresh.size === seq - known;
      out = complete
        ? { dropAll: false, apply: [...fresh.entries()].sort(([a], [b]) => a - b).map(([, r]) => r) }
        : { dropAll: true, apply: [] };
    }
    this.#epoch = epoch;
    this.#seq = seq;
    return out;
  }
}
