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
  /** Changes not applied yet, oldest first (empty when `dropAll` or on the first read). */
  readonly apply: readonly LoggedChange<R>[];
  /**
   * When the change index must start over (the first read, another epoch, a gap): every change
   * numbered above `horizon` is in `known` (the log's unbroken run down from its newest), oldest
   * first; the rest of the read is then ignored.
   */
  readonly restart?: { readonly horizon: number; readonly known: readonly LoggedChange<R>[] };
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
   * The log read: its epoch and sequence, and the changes it returned (newest first: the ones after
   * the cursor's in the same epoch, else as many as the log holds). A record whose body was not
   * returned (too long) is still a number of the run, with no record: `undefined`.
   */
  caughtUp<R>(epoch: string, seq: number, changes: readonly LoggedChange<R>[]): CatchUp<R> {
    const first = this.#epoch === undefined;
    const known = this.#seq;
    const bySeq = new Map<number, LoggedChange<R>>();
    let repeated = false;
    for (const c of changes) {
      if (!Number.isSafeInteger(c.seq) || c.seq < 1 || c.seq > seq) continue;
      if (bySeq.has(c.seq)) repeated = true;
      bySeq.set(c.seq, c);
    }
    // The unbroken run of numbers down from the log's newest: every change above `low` is known.
    let low = seq;
    while (bySeq.has(low)) low -= 1;
    // A log altered in Redis (a number twice): nothing in it is trusted.
    if (repeated) low = seq;
    const run = (above: number): LoggedChange<R>[] =>
      [...bySeq.values()].filter((c) => c.seq > above && c.seq > low).sort((a, b) => a.seq - b.seq);
    let out: CatchUp<R>;
    if (first) {
      // The first look: whatever happened before this instance started is not in its cache, unless
      // it has been serving since an earlier look failed.
      out = {
        dropAll: this.#missedAtStart && this.#servedAlone,
        apply: [],
        restart: { horizon: low, known: run(low) },
      };
    } else if (epoch !== this.#epoch || low > known || seq < known) {
      // Another epoch (Redis flushed, restarted or rolled back), or more changes than the log holds
      // (or a log altered in Redis): what was missed cannot be known.
      out = { dropAll: true, apply: [], restart: { horizon: low, known: run(low) } };
    } else {
      out = { dropAll: false, apply: run(known) };
    }
    this.#epoch = epoch;
    this.#seq = seq;
    return out;
  }
}
