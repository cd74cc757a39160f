import { createHmac } from 'node:crypto';

/**
 * The format of the tier's keys, values and scripts. Part of every key: instances of another
 * format share nothing with this one (a rolling upgrade across formats runs as two fleets).
 */
export const FLEET_FORMAT = 'v2';

/**
 * How long a generation lives without a change or a store: longer than any entry (tokens last at
 * most a day); a store extends it to outlive its entry.
 */
export const GENERATION_TTL_MS = 25 * 3600 * 1000;

/** Characters of a keyed name: 162 bits of HMAC-SHA256, base64url. */
const NAME_CHARS = 27;

/** The kinds of shared entries. */
export type EntryKind = 'token' | 'credentials' | 'scoped';

/**
 * Every Redis key and channel name of one tier, in one place (as bullmq's queue keys): the app's
 * prefix, the broker's namespace in braces, the format, then the part. A user id, identity id or
 * cache key never appears in clear: each is named by an HMAC under a key derived from the fleet's
 * encryption keys, so that a reader of Redis can neither read nor guess one (a bare hash of a
 * guessable id, such as an e-mail address, would be reversed by trying candidates).
 *
 * The braces make the namespace the key's hash tag: every key of a namespace sits in one cluster
 * slot, so that no script needs keys of two slots.
 */
export class FleetKeys {
  /** `prefix:{namespace}:format:`, the start of every key. */
  readonly base: string;
  readonly #nameKey: Buffer;

  /** @param nameKey 32 bytes (from `EntryCipher.derive`), the same on every instance. */
  constructor(prefix: string, namespace: string, nameKey: Buffer) {
    this.base = `${prefix}:{${namespace}}:${FLEET_FORMAT}:`;
    this.#nameKey = nameKey;
  }

  /** The keyed name of `value` (a user id, an identity id, a cache key, a lock's name or owner). */
  name(value: string): string {
    return createHmac('sha256', this.#nameKey).update(value, 'utf8').digest('base64url').slice(0, NAME_CHARS);
  }

  /** What a load's lease and its wake-up message name: the entry's kind and keyed cache key. */
  loadId(kind: EntryKind, cacheKey: string): string {
    return `${kind}:${this.name(cacheKey)}`;
  }

  /** A shared entry (a hash: the sealed value and the generations it was stored under). */
  entry(loadId: string): string {
    return `${this.base}e:${loadId}`;
  }

  /** The lease of one load of an entry. */
  lease(loadId: string): string {
    return `${this.base}l:${loadId}`;
  }

  /** The generation of a user: changed by every change naming the user. */
  userGeneration(userId: string): string {
    return `${this.base}g:u:${this.name(userId)}`;
  }

  /** The generation of an identity: changed by every change naming the identity. */
  identityGeneration(identityId: string): string {
    return `${this.base}g:i:${this.name(identityId)}`;
  }

  /** A key never written: the identity generation of a load whose identity is not known yet. */
  get noGeneration(): string {
    return `${this.base}g:none`;
  }

  /** The namespace's generation: a change of every entry (changes lost, Redis rolled back). */
  get allGeneration(): string {
    return `${this.base}g:all`;
  }

  /**
   * The additional data a shared entry is sealed with: the entry (kind and cache key) and the
   * change number and namespace generation it was loaded under, so that a value moved to another
   * entry, or its numbers rewritten in Redis, fails to open.
   */
  entryAad(kind: EntryKind, cacheKey: string, s: string, a: string): string {
    return `${this.base}|${kind}|${cacheKey}|${s}|${a}`;
  }

  /**
   * The additional data of a change record: its epoch and number, so that a genuine record moved to
   * another place in the log (or replayed from another epoch) fails to open.
   */
  changeAad(epoch: string, seq: number): string {
    return `${this.base}|change|${epoch}|${seq}`;
  }

  /** The change feed's state (epoch, sequence). */
  get changeState(): string {
    return `${this.base}changes`;
  }

  /** The change log (the last changes, newest first). */
  get changeLog(): string {
    return `${this.base}changes:log`;
  }

  /** The channel of change wake-ups and load messages. */
  get channel(): string {
    return `${this.base}events`;
  }

  /** A fleet-wide lock. */
  lock(name: string): string {
    return `${this.base}lk:${this.name(name)}`;
  }

  /** The quota store's prefix (its buckets are `${quotaPrefix}q:…`). */
  get quotaPrefix(): string {
    return this.base;
  }
}
