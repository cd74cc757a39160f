/** One call waiting for a token. */
export interface Waiter {
  readonly rank: number;
  /** Whose turn it takes: the user charged, or `''` for calls of no user (guests, the app's own). */
  readonly user: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  settled: boolean;
  timer: unknown;
  cleanup: () => void;
}

/**
 * The waiters of one priority of one bucket: a FIFO per user, the users served in turn (round
 * robin), so that a few users with many calls each — every one within its own budget — cannot
 * take the bucket from the others: a user who waits for one call is served after at most one call
 * of each user ahead, however many those have queued.
 */
export class Lane {
  /** Each user's waiters, oldest first (settled ones dropped lazily); the Map's order is the turn. */
  readonly #users = new Map<string, Waiter[]>();
  /** Waiters not yet settled, per user. */
  readonly #active = new Map<string, number>();
  /** Waiters not yet settled. */
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(waiter: Waiter): void {
    let fifo = this.#users.get(waiter.user);
    if (fifo === undefined) {
      fifo = [];
      this.#users.set(waiter.user, fifo);
    }
    fifo.push(waiter);
    this.#active.set(waiter.user, (this.#active.get(waiter.user) ?? 0) + 1);
    this.#count += 1;
  }

  /** Counts a waiter out (served, timed out or aborted); call once per waiter. */
  settled(waiter: Waiter): void {
    this.#count -= 1;
    const left = (this.#active.get(waiter.user) ?? 1) - 1;
    if (left > 0) this.#active.set(waiter.user, left);
    else this.#active.delete(waiter.user);
  }

  /** The next waiter to serve: the oldest of the user whose turn it is. */
  head(): Waiter | undefined {
    for (const [user, fifo] of this.#users) {
      while (fifo.length > 0 && fifo[0]?.settled === true) fifo.shift();
      const head = fifo[0];
      if (head !== undefined) return head;
      this.#users.delete(user);
    }
    return undefined;
  }

  /** `head` (from {@link head}) was served: it leaves, and its user's turn passes to the next user. */
  served(head: Waiter): void {
    const fifo = this.#users.get(head.user);
    if (fifo?.[0] !== head) return;
    fifo.shift();
    this.#users.delete(head.user);
    if (fifo.length > 0) this.#users.set(head.user, fifo);
  }

  /**
   * Waiters of this lane served before one more of `user`: its own, and of every other user as
   * many as it has queued plus one (one a turn), at most that user's own count.
   */
  ahead(user: string): number {
    const own = this.#active.get(user) ?? 0;
    let n = own;
    for (const [other, count] of this.#active) if (other !== user) n += Math.min(count, own + 1);
    return n;
  }
}

/** How long past its slot a refused client's promise is kept for it, beyond the wait it may do, ms. */
const PROMISE_GRACE_MS = 1000;
/** Most promises kept (the oldest dropped first). */
const MAX_PROMISES = 10_000;

/**
 * The slots promised to refused clients of one bucket (their Retry-After), one per client: a user
 * refused again gives up the slot it had, and one who comes back frees it; a slot long past is
 * dropped (its client gave up). Calls of no user (`''`) each hold a slot of their own. So the slots
 * ahead count the clients waiting to come back, not the refusals: a few clients retrying without
 * pause cannot push everyone else's Retry-After minutes away.
 */
export class Promises {
  /** Client → slot (governor time, ms), in the order booked. */
  readonly #slots = new Map<string, number>();
  #anonymous = 0;

  /**
   * Books a slot for `client`: `earliest`, plus one `paceMs` for each client holding a slot, at most
   * `maxSpreadMs` of them.
   */
  book(
    client: string,
    earliest: number,
    now: number,
    o: { paceMs: number; maxSpreadMs: number; waitMs: number },
  ): number {
    if (client !== '') this.#slots.delete(client);
    for (const [key, slot] of this.#slots) {
      if (slot >= now - o.waitMs - PROMISE_GRACE_MS && this.#slots.size < MAX_PROMISES) break;
      this.#slots.delete(key);
    }
    const slot = earliest + Math.min(this.#slots.size * o.paceMs, o.maxSpreadMs);
    this.#slots.set(client === '' ? `\0${String(++this.#anonymous)}` : client, slot);
    return slot;
  }

  /** `client` came back: its slot is free. */
  claimed(client: string): void {
    if (client !== '') this.#slots.delete(client);
  }
}

/** Grants remembered to measure a queue's rate. */
const SERVED_KEPT = 8;
/** Grants older than this say nothing of the rate now, ms. */
const SERVED_RECENT_MS = 2000;

/**
 * The rate a queue's waiters have been getting tokens at (the last few grants to waiters, recent
 * ones only): in a fleet, this instance's part of a bucket every instance draws from.
 */
export class ServedRate {
  readonly #at: number[] = [];

  add(now: number): void {
    this.#at.push(now);
    if (this.#at.length > SERVED_KEPT) this.#at.shift();
  }

  /** Tokens per second, or `undefined` when too few grants were recent enough to tell. */
  rate(now: number): number | undefined {
    const first = this.#at[0];
    const last = this.#at[this.#at.length - 1];
    if (first === undefined || last === undefined || this.#at.length < 4) return undefined;
    if (now - last > SERVED_RECENT_MS || last <= first) return undefined;
    return ((this.#at.length - 1) * 1000) / (last - first);
  }
}
