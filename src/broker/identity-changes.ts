import { LRUCache } from 'lru-cache';
import { BrokerError } from '../errors.js';

/** Identities whose last change is remembered; older ones count as changed for loads that old. */
const REMEMBERED = 10_000;
/** Loads of one entry whose answer a change overlapped, before the caller is told to retry. */
const MAX_ROUNDS = 3;

/**
 * The identity changes one broker has seen (its own and, with a fleet, the others'), numbered, so
 * that a token load can tell whether the identity it ends up naming changed while it ran: its
 * answer may then predate the change (Cognito answered before the merge, the reply came after), and
 * it is neither cached nor served — for every user of that identity, named by the change or not.
 */
export class IdentityChanges {
  #seq = 0;
  /** Loads that began before this number cannot be checked (the change was forgotten, or all changed). */
  #floor = 0;
  readonly #last = new LRUCache<string, number>({
    max: REMEMBERED,
    // Forgotten to make room: loads that began before its number can no longer be checked.
    dispose: (seq, _id, reason) => {
      if (reason === 'evict') this.#floor = Math.max(this.#floor, seq);
    },
  });

  /** The current number: a load records it when it begins. */
  get seq(): number {
    return this.#seq;
  }

  /** These identities changed. */
  changed(identityIds: Iterable<string>): void {
    this.#seq += 1;
    for (const id of identityIds) this.#last.set(id, this.#seq);
  }

  /** Every identity may have changed (a fleet that missed changes). */
  everything(): void {
    this.#seq += 1;
    this.#floor = this.#seq;
  }

  /** Whether `identityId` changed after number `since`. */
  changedSince(identityId: string, since: number): boolean {
    if (since < this.#floor) return true;
    const last = this.#last.get(identityId);
    return last !== undefined && last > since;
  }

  /**
   * Runs `load` until its answer names an identity that did not change while it ran (a few rounds;
   * then `ERR_CONFLICT`, retryable: the identity keeps changing).
   */
  async current<V extends { readonly identityId: string }>(load: () => Promise<V>): Promise<V> {
    for (let round = 1; ; round++) {
      const since = this.#seq;
      const value = await load();
      if (!this.changedSince(value.identityId, since)) return value;
      if (round >= MAX_ROUNDS)
        throw new BrokerError('ERR_CONFLICT', 'The identity changed while it was being loaded; try again', {
          retryable: true,
        });
    }
  }
}
