import { LRUCache } from 'lru-cache';

// A cap on the classic flow's live scopes per user: without it, one user asking for many distinct
// scopes (a scope computed from the request) would push every other user's scoped entries out of
// the shared cache. Each user's scope keys are kept in order of use; past the cap, the least
// recently used one is dropped from the cache.

/** Default `classicFlow.maxScopesPerUser`. */
export const DEFAULT_MAX_SCOPES_PER_USER = 16;

export class ScopeCap {
  readonly #max: number;
  /** Per user, their scope keys, least recently used first. As many users as the cache holds entries. */
  readonly #byUser: LRUCache<string, string[]>;

  constructor(maxPerUser: number, maxUsers: number) {
    this.#max = maxPerUser;
    this.#byUser = new LRUCache<string, string[]>({ max: maxUsers });
  }

  /**
   * Notes that `userId` uses the scoped entry `key`.
   * @returns the keys of that user's entries to drop: the least recently used past the cap.
   */
  use(userId: string, key: string): string[] {
    let keys = this.#byUser.get(userId);
    if (keys === undefined) {
      keys = [];
      this.#byUser.set(userId, keys);
    }
    const at = keys.indexOf(key);
    if (at !== -1) keys.splice(at, 1);
    keys.push(key);
    return keys.length > this.#max ? keys.splice(0, keys.length - this.#max) : [];
  }
}
