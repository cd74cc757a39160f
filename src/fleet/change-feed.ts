import type { FleetHost } from '../broker/fleet.js';
import { ChangeCursor, type LoggedChange } from './change-cursor.js';
import { ChangeIndex } from './change-index.js';
import { parseChange, token, type Change } from './change-record.js';
import { ChangeRecorder, type Given } from './change-recorder.js';
import { subscribeToChanges } from './change-subscription.js';
import type { CleanupQueue } from './cleanups.js';
import type { EntryCipher } from './cipher.js';
import { CutOffWatch } from './cut-off-watch.js';
import type { FleetKeys } from './keys.js';
import type { FleetRedisSubscriber, PublishMode, RedisRunner, Script } from './runner.js';
import { MAX_RECORD_BYTES, SYNC } from './scripts.js';

/** Changes kept while Redis is out, published when it answers again; beyond, everything is dropped. */
const MAX_PENDING = 1000;

/** Options of {@link ChangeFeed}. */
export interface ChangeFeedOptions {
  readonly runner: RedisRunner;
  readonly keys: FleetKeys;
  /** Seals change records (their ids are never in clear; a record not sealed by the fleet is refused). */
  readonly cipher: EntryCipher;
  readonly host: FleetHost;
  readonly subscriber: FleetRedisSubscriber;
  /** `'s'` on a cluster: wake-ups on a sharded channel (SPUBLISH, SSUBSCRIBE); `''`: classic pub/sub. */
  readonly publishMode: PublishMode;
  readonly cleanups: CleanupQueue;
  readonly syncIntervalMs: number;
  /**
   * How long the log may go unread before this instance stops trusting its own cache
   * (`syncIntervalMs + commandTimeoutMs`: how late a change reaches an instance that reads the log).
   */
  readonly cutOffAfterMs: number;
  /**
   * Runs a script once on the client, outside the runner's degraded window, bounded by the command
   * timeout: `close()`'s last try to send the changes it holds.
   */
  readonly lastTry: (s: Script, keys: string[], args: string[]) => Promise<unknown>;
  /** Called before any change is applied here (prefetched entries must go). */
  readonly onChange: () => void;
  /** A load's wake-up message (`L <load id>`). */
  readonly onLoadMessage: (loadId: string) => void;
}

/**
 * The fleet's change feed as one instance sees it: publishes this instance's changes (numbering
 * each in the change log and sending a wake-up, then raising the markers of the users and
 * identities named, each in its own slot), applies the others' changes, keeps the index of the
 * changes read (what shared entries are judged against), and reads the log periodically (and after
 * every gap, reconnect or recovery) so that a lost message delays a change by at most
 * `syncIntervalMs`.
 */
export class ChangeFeed {
  readonly #o: ChangeFeedOptions;
  readonly #cursor = new ChangeCursor();
  readonly #index = new ChangeIndex();
  readonly #instance = token();
  readonly #recorder: ChangeRecorder;
  readonly #pending: Change[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  /** Kept changes being published after an outage. */
  #republishing = 0;
  /**
   * Changes being sent: until each is numbered and marked, a shared entry it makes stale is not
   * known as such, and none is taken.
   */
  #sending = 0;
  #syncing: Promise<void> | undefined;
  #syncAgain = false;
  #closed = false;
  /** `close()` is sending what it holds (once, not kept again on failure). */
  #closing = false;
  /** A republish of kept changes under way (close() waits for it). */
  #flushing: Promise<void> = Promise.resolve();
  readonly #cutOff: CutOffWatch;
  published = 0;
  applied = 0;
  resyncDrops = 0;
  /** Times a fleet key of the wrong type was seen (each dropped every entry). */
  typeMismatches = 0;
  #typeMismatch = false;
  /** The digest of the log entry at the cursor's number, as last read (a rollback replaces it). */
  #digest = '';
  /** The epochs this instance has been in, newest last (a few). */
  readonly #epochs: string[] = [];
  /** Change records that did not open (not sealed by the fleet) or parse: each dropped every entry. */
  recordsRejected = 0;

  constructor(options: ChangeFeedOptions) {
    this.#o = options;
    // Subscriptions come back by themselves after a reconnect; messages sent meanwhile are found by
    // the check that follows.
    options.subscriber.on('ready', () => void this.sync());
    this.#recorder = new ChangeRecorder({
      ...options,
      instance: this.#instance,
      read: () => ({ epoch: this.#cursor.epoch, seq: this.#cursor.seq }),
      onTypeMismatch: () => {
        this.typeMismatch();
      },
    });
    void subscribeToChanges({
      subscriber: options.subscriber,
      publishMode: options.publishMode,
      channel: options.keys.channel,
      log: options.host.log,
      closed: () => this.#closed,
      onMessage: (message) => {
        this.#onMessage(message);
      },
    });
    this.#timer = setInterval(() => void this.sync(), options.syncIntervalMs);
    this.#timer.unref();
    this.#cutOff = new CutOffWatch(options);
    void this.sync();
  }

  /** Changes of this instance not yet published: the shared entries they make stale are not marked yet. */
  get unpublished(): boolean {
    return this.#pending.length > 0 || this.#republishing > 0 || this.#sending > 0;
  }

  /**
   * Where this instance stands in the feed (the epoch and the number of the last change applied
   * here), or `undefined` before its first read of the log: what a load begins under.
   */
  get position(): { readonly epoch: string; readonly seq: number } | undefined {
    const epoch = this.#cursor.epoch;
    return epoch === undefined || epoch !== this.#index.epoch ? undefined : { epoch, seq: this.#cursor.seq };
  }

  /**
   * Whether a shared entry loaded from change `s` of epoch `a`, for this user and identity, is
   * current as far as this instance knows (see {@link ChangeIndex}).
   */
  isCurrent(a: string, s: number, userId: string | undefined, identityId: string | undefined): boolean {
    return this.#index.current(a, s, userId, identityId);
  }

  /** Whether this instance has been in `epoch` (read it from the log): the current one or an earlier one. */
  knownEpoch(epoch: string): boolean {
    return this.#epochs.includes(epoch);
  }

  /** An entry was loaded without the tier. */
  servedAlone(): void {
    this.#cursor.servedAlone();
  }

  /**
   * Stops the feed. Changes still waiting to be sent are tried once more first (a clean stop loses
   * none that Redis can take); what Redis does not take then is lost with the instance, and its
   * callers were told (`ERR_FLEET_UNAVAILABLE`) or it was a cache hint (`forgetUser`).
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#cutOff.stop();
    // Tried even while the runner waits out its degraded window: Redis may be back already.
    this.#closing = true;
    // A republish under way finishes first (or stops at its first failure, its rest kept).
    await this.#flushing;
    let left = this.#pending.splice(0);
    // A change of every entry, kept after the others, covers them all.
    if (left.some((c) => c.all === true)) left = [{ u: [], i: [], all: true }];
    // One at a time (they would race each other for every number), stopping at the first failure
    // so that a stop with Redis away waits for one command, not one per change.
    let lost = 0;
    for (const [n, change] of left.entries()) {
      if (await this.publish(change)) continue;
      lost = left.length - n;
      break;
    }
    if (lost > 0) this.#o.host.log.warn({ changes: lost }, 'fleet: changes not sent to Redis before the stop');
    this.#closed = true;
    this.#cutOff.stop();
  }

  /**
   * Publishes `change`. One that Redis did not take waits (bounded: beyond `MAX_PENDING`, one change
   * of every entry stands for them all) and goes out when Redis answers; once out, it is applied
   * here again, since this instance may have loaded entries meanwhile that it makes stale.
   */
  publish(change: Change, republished = false): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (republished) this.#republishing += 1;
    this.#sending += 1;
    const closing = this.#closing;
    return this.#recorder
      .record(change, closing)
      .then(async (given: Given) => {
        // Known here at once: this instance's loads refuse what the change made stale.
        this.#index.add(given.epoch, given.seq, change);
        // Marked in the slot of each user and identity named, before the change is reported made:
        // a read of their entries anywhere sees it, also by an instance that has not read the log.
        await this.#recorder.mark(change, given, closing);
        return given;
      })
      .then(
        () => {
          this.published += 1;
          // Applied here again: an entry this instance loaded while the change was on its way (or,
          // for a kept one, during the outage) may predate it.
          this.#applyLocally(change);
          return true;
        },
        () => {
          if (this.#closed || this.#closing) return false;
          if (this.#pending.length < MAX_PENDING) this.#pending.push(change);
          else this.#pending.splice(0, this.#pending.length, { u: [], i: [], all: true });
          return false;
        },
      )
      .finally(() => {
        this.#sending -= 1;
        if (republished) this.#republishing -= 1;
      })
      .catch((err: unknown) => {
        this.#o.host.log.error(
          { err: err instanceof Error ? err.message : 'unknown' },
          'fleet: applying a change failed',
        );
        return false;
      });
  }

  /**
   * A key of the fleet's has the wrong type (a Redis writer's): the namespace cannot be trusted, so
   * every entry is dropped, once per episode (again after the keys were right once more).
   */
  typeMismatch(): void {
    if (this.#typeMismatch) return;
    this.#typeMismatch = true;
    this.typeMismatches += 1;
    this.#o.host.log.error({}, 'fleet: a key in Redis has the wrong type; the cache is dropped');
    this.#dropAll();
  }

  #applyLocally(change: Change): void {
    this.#o.onChange();
    if (change.all === true) this.#o.host.dropAll();
    else this.#o.host.invalidateLocal(change.u, change.i);
  }

  /** After Redis answers again: the clean-ups, then the changes kept meanwhile. */
  flushPending(): void {
    this.#o.cleanups.flush();
    let kept = this.#pending.splice(0);
    if (kept.length === 0) return;
    // A change of every entry, published after the others kept, covers them all.
    if (kept.some((c) => c.all === true)) kept = [{ u: [], i: [], all: true }];
    // One at a time, in order: sent at once, they would race each other for every number. At the
    // first failure the rest is kept again (the failed one keeps itself), for the next recovery or
    // for close().
    this.#republishing += 1;
    this.#flushing = (async () => {
      for (const [n, change] of kept.entries()) {
        if (await this.publish(change, true)) continue;
        this.#pending.push(...kept.slice(n + 1));
        break;
      }
    })().finally(() => {
      this.#republishing -= 1;
    });
  }

  #onMessage(message: string): void {
    if (message.startsWith('L ')) {
      this.#o.onLoadMessage(message.slice(2));
      return;
    }
    if (!message.startsWith('I ')) return;
    // 'I epoch seq': a wake-up only. Anyone who can publish can send one, so the change itself is
    // read from the log, where each record is sealed by the instance that made it.
    const [, epoch = '', seqText = ''] = message.split(' ', 3);
    if (this.#cursor.isNews(epoch, Number(seqText))) void this.sync();
  }

  #apply(change: Change | undefined): void {
    this.#o.onChange();
    if (change === undefined || change.all === true) {
      this.#dropAll();
      return;
    }
    this.applied += 1;
    this.#o.host.invalidateLocal(change.u, change.i);
  }

  #dropAll(): void {
    this.#o.onChange();
    this.resyncDrops += 1;
    this.#o.host.dropAll();
  }

  /**
   * Catches up with the change log: applies what this instance has not seen, or drops everything
   * when that cannot be known (the log moved on too far, or Redis lost it).
   */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#syncing !== undefined) {
      // A check already running may have read the log before the change that asks for this one.
      this.#syncAgain = true;
      return this.#syncing;
    }
    this.#syncing = (async () => {
      do {
        this.#syncAgain = false;
        await this.#syncOnce();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by sync() during the await
      } while (this.#syncAgain && !this.#closed);
    })().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #syncOnce(): Promise<void> {
    const k = this.#o.keys;
    let reply: unknown;
    // The log as read is at least as new as when the read was sent.
    const sentAt = performance.now();
    try {
      reply = await this.#o.runner.run(
        SYNC,
        [k.changeState, k.changeLog],
        [this.#cursor.epoch ?? '', String(this.#cursor.seq), token(), String(MAX_RECORD_BYTES), this.#digest],
      );
    } catch {
      // Serving already (per process) while changes cannot be read: the first check that succeeds
      // cannot tell what was missed.
      this.#cursor.readFailed();
      return;
    }
    // Changes or clean-ups left over (their failure came in after Redis had answered again).
    if ((this.#pending.length > 0 || this.#o.cleanups.size > 0) && !this.#o.runner.degraded) this.flushPending();
    if (!Array.isArray(reply)) return;
    if (reply[0] === 'type') {
      this.typeMismatch();
      return;
    }
    this.#typeMismatch = false;
    const [epoch, seqText, digest, ...entries] = reply as unknown[];
    if (typeof epoch !== 'string' || typeof seqText !== 'string' || typeof digest !== 'string') return;
    // 'seq record', or 'seq' alone for a record too long to be read.
    const logged: LoggedChange<string | undefined>[] = [];
    for (const entry of entries) {
      if (typeof entry !== 'string') continue;
      const space = entry.indexOf(' ');
      const seq = Number(space < 0 ? entry : entry.slice(0, space));
      logged.push({ seq, record: space < 0 ? undefined : entry.slice(space + 1) });
    }
    if (!this.#closed && !this.#closing) {
      this.#cutOff.read(performance.now() - sentAt);
    }
    const step = this.#cursor.caughtUp(epoch, Number(seqText), logged);
    this.#digest = digest;
    if (!this.#epochs.includes(epoch)) {
      this.#epochs.push(epoch);
      if (this.#epochs.length > 16) this.#epochs.shift();
    }
    if (step.dropAll) this.#dropAll();
    if (step.restart !== undefined) {
      // The index starts over from what the log holds (a first read, another epoch, a gap).
      this.#index.reset(epoch, step.restart.horizon);
      for (const { seq, record } of step.restart.known) this.#index.add(epoch, seq, this.#read(epoch, seq, record));
    }
    for (const { seq, record } of step.apply) {
      const change = this.#read(epoch, seq, record);
      this.#index.add(epoch, seq, change);
      // One of this instance's own (its id is sealed in the record, at this number): applied when made.
      if (change?.n !== this.#instance) this.#apply(change);
    }
  }

  /** A record opened and parsed, or `undefined` (counted) when it was not sealed by the fleet for this place. */
  #read(epoch: string, seq: number, record: string | undefined): ReturnType<typeof parseChange> {
    // Sealed for this epoch and number: a genuine record moved to another place does not open.
    const json = record === undefined ? undefined : this.#o.cipher.open(this.#o.keys.changeAad(epoch, seq), record);
    const change = json === undefined ? undefined : parseChange(json);
    if (change === undefined) this.recordsRejected += 1;
    return change;
  }
}
