import { createHmac } from 'node:crypto';

/**
 * The format of the tier's keys, values and scripts. Part of every key: instances of another
 * format share nothing with this one (a rolling upgrade across formats runs as two fleets).
 */
export const FLEET_FORMAT = 'v3';

/** How long an owner's marker lives after the last change that named the owner: longer than any entry (a day at most). */
export const MARKER_TTL_MS = 25 * 3600 * 1000;

/** Characters of a keyed name: 162 bits of HMAC-SHA256, base64url. */
const NAME_CHARS = 27;

/** A member of an identity's set: a user tag without its braces (`u` and a keyed name). */
// eslint-disable-next-line security/detect-non-literal-regexp -- built from a constant
const MEMBER = new RegExp(`^u[\\w-]{${String(NAME_CHARS)}}$`);

/** The kinds of shared entries. */
export type EntryKind = 'token' | 'credentials' | 'scoped';

/** Where a load's entry and lease live: its user's slot, else its identity's. */
export interface LoadOwner {
  readonly userId: string | undefined;
  readonly identityId: string | undefined;
}

/**
 * Every Redis key and channel name of one tier, in one place (as bullmq's queue keys): the app's
 * prefix, the broker's namespace, the format, a hash tag in braces, then the part. A user id,
 * identity id or cache key never appears in clear: each is named by an HMAC under a key derived from
 * the fleet's encryption keys, so that a reader of Redis can neither read nor guess one (a bare hash
 * of a guessable id, such as an e-mail address, would be reversed by trying candidates).
 *
 * The hash tag (the part in braces) decides a key's cluster slot. Each script touches the keys of
 * one tag only, so that it runs on one node of a Redis Cluster:
 * - `{u<user>}`: a user's entries, their leases and the user's quota budget: users spread over
 *   every slot, and a user's token and credentials sit together;
 * - `{i<identity>}`: the entries of a load with no user (a guest's credentials);
 * - `{f<namespace>}`: the change feed (its state, its log and its channel);
 * - `{q<namespace>:<operation>}`: an operation's quota buckets; `{l<lock>}`: one lock;
 *   `{h<namespace>}`: the quota heartbeat.
 * On a single node the tags are just characters.
 */
export class FleetKeys {
  /** `prefix:namespace:format:`, the start of every key. */
  readonly base: string;
  readonly #namespace: string;
  readonly #nameKey: Buffer;

  /** @param nameKey 32 bytes (from `EntryCipher.derive`), the same on every instance. */
  constructor(prefix: string, namespace: string, nameKey: Buffer) {
    this.base = `${prefix}:${namespace}:${FLEET_FORMAT}:`;
    this.#namespace = namespace;
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

  /** The hash tag of a load's keys: its user's, else its identity's (`undefined`: neither known). */
  ownerTag(owner: LoadOwner): string | undefined {
    if (owner.userId !== undefined) return this.userTag(owner.userId);
    if (owner.identityId !== undefined) return this.identityTag(owner.identityId);
    return undefined;
  }

  /** The hash tag of an identity's keys (its guest entries, its marker, its members). */
  identityTag(identityId: string): string {
    return `{i${this.name(`i:${identityId}`)}}`;
  }

  /**
   * The users whose shared entries name an identity (a set of user tags without braces, `u<name>`),
   * in the identity's slot: a change of the identity raises each one's marker, so that the entries
   * of a user the change does not name (moved along by a merge) are refused everywhere at once.
   */
  members(identityId: string): string {
    return `${this.base}${this.identityTag(identityId)}:m`;
  }

  /** A user tag as a member of an identity's set, or a member back to its tag (`undefined`: not one). */
  static member(tag: string): string {
    return tag.slice(1, -1);
  }

  static memberTag(member: string): string | undefined {
    return MEMBER.test(member) ? `{${member}}` : undefined;
  }

  /** The hash tag of a user's keys. */
  userTag(userId: string): string {
    return `{u${this.name(userId)}}`;
  }

  /** A shared entry (a hash: the sealed value and the change number and epoch it was loaded under). */
  entry(tag: string, loadId: string): string {
    return `${this.base}${tag}:e:${loadId}`;
  }

  /**
   * The last change that named the owner of a tag (a user, or an identity): `epoch:seq`, set by
   * the instance that made the change, in the owner's slot, so that a read of an entry there sees it.
   */
  marker(tag: string): string {
    return `${this.base}${tag}:g`;
  }

  /** The lease of one load of an entry. */
  lease(tag: string, loadId: string): string {
    return `${this.base}${tag}:l:${loadId}`;
  }

  /**
   * The additional data a shared entry is sealed with: the entry (kind and cache key) and the
   * change number and epoch it was loaded under, so that a value moved to another entry, or its
   * numbers rewritten in Redis, fails to open.
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

  get #feed(): string {
    return `${this.base}{f${this.#namespace}}:`;
  }

  /** The change feed's state (epoch, sequence). */
  get changeState(): string {
    return `${this.#feed}changes`;
  }

  /** The change log (the last changes, newest first). */
  get changeLog(): string {
    return `${this.#feed}changes:log`;
  }

  /** The channel of change wake-ups and load messages (in the feed's slot: a sharded channel on a cluster). */
  get channel(): string {
    return `${this.#feed}events`;
  }

  /** A fleet-wide lock. */
  lock(name: string): string {
    const n = this.name(name);
    return `${this.base}{l${n}}:lk:${n}`;
  }

  /** An operation's quota bucket (`key` an operation, or an operation's cap: `operation#share`). */
  operationBucket(key: string): string {
    const operation = key.split('#', 1)[0] ?? key;
    return `${this.base}{q${this.#namespace}:${operation}}:q:o:${key}`;
  }

  /** A user's quota budget, in the user's slot. */
  userBucket(userId: string): string {
    return `${this.base}${this.userTag(userId)}:q:u`;
  }

  /** The set of live instances (the quota heartbeat). */
  get liveSet(): string {
    return `${this.base}{h${this.#namespace}}:q:live`;
  }
}
