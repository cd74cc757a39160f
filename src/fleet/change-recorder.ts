import { FleetTypeMismatch, token, type Change } from './change-record.js';
import type { EntryCipher } from './cipher.js';
import { FleetKeys, MARKER_TTL_MS } from './keys.js';
import type { PublishMode, RedisRunner, Script } from './runner.js';
import { BUMP, INVALIDATE, MAX_MEMBERS, MEMBERS } from './scripts.js';

/** The number a change was given in the log. */
export interface Given {
  readonly epoch: string;
  readonly seq: number;
}

/** Seals of one change for a number another instance took meanwhile (compare-and-set), before giving up. */
const MAX_SEAL_TRIES = 5;

/** Options of {@link ChangeRecorder}. */
export interface ChangeRecorderOptions {
  readonly runner: RedisRunner;
  readonly keys: FleetKeys;
  readonly cipher: EntryCipher;
  readonly publishMode: PublishMode;
  /** One run of a script outside the runner's degraded window (`close()`'s last try). */
  readonly lastTry: (s: Script, keys: string[], args: string[]) => Promise<unknown>;
  /** This instance's id, sealed in each record (its own records are not applied again). */
  readonly instance: string;
  /** Where the instance's read of the log stands (the epoch and number it read last). */
  readonly read: () => { readonly epoch: string | undefined; readonly seq: number };
  /** A fleet key of the wrong type refused the change. */
  readonly onTypeMismatch: () => void;
}

/**
 * Writes one instance's changes into Redis: numbers each in the change log (`INVALIDATE`, the record
 * sealed for the epoch and number it gets, one at a time), then raises the markers of the users and
 * identities it names and of the identities' members, each in its own slot (`BUMP`).
 */
export class ChangeRecorder {
  readonly #o: ChangeRecorderOptions;
  /** The records being sent, one after the other. */
  #recording: Promise<unknown> = Promise.resolve();
  #lastGiven: { epoch: string | undefined; seq: number } = { epoch: undefined, seq: 0 };

  constructor(options: ChangeRecorderOptions) {
    this.#o = options;
  }

  /**
   * Seals `change` for the number it is to get and sends it; when another instance took that number
   * first, seals it again for the next (a few times). A record is bound to its epoch and number.
   * `closing`: `close()`'s last try, even inside the runner's degraded window.
   */
  record(change: Change, closing: boolean): Promise<Given> {
    // Redis out: sent (or refused) at once, as before the outage: one is the runner's probe, the
    // others are refused and kept by the caller, not queued behind the probe.
    if (!closing && this.#o.runner.degraded) return this.#recordOnce(change, closing);
    // One at a time on this instance: records sent at once would be sealed for the same number, and
    // all but one refused each round (then failed past the tries with Redis healthy).
    const run = this.#recording.then(() => this.#recordOnce(change, closing));
    this.#recording = run.catch(() => undefined);
    return run;
  }

  /**
   * Raises to the change's number the markers of the users and identities `change` names, and of
   * the users whose entries name one of those identities (their members): one command per slot,
   * at once. One that fails is left: the instances learn the change from the log, as they would
   * have without the marker (within `syncIntervalMs`).
   */
  async mark(change: Change, given: Given, closing: boolean): Promise<void> {
    if (change.all === true) return;
    const k = this.#o.keys;
    const run = this.#send(closing);
    const members = await Promise.all(
      change.i.map((i) =>
        run(MEMBERS, [k.members(i)], [String(MAX_MEMBERS)]).then(
          (reply): unknown[] => (Array.isArray(reply) ? (reply as unknown[]) : []),
          (): unknown[] => [],
        ),
      ),
    );
    const tags = new Set([...change.u.map((u) => k.userTag(u)), ...change.i.map((i) => k.identityTag(i))]);
    for (const m of members.flat().slice(0, MAX_MEMBERS * 4)) {
      // A member is a writer's to forge: only the shape of a user tag is taken.
      const tag = typeof m === 'string' ? FleetKeys.memberTag(m) : undefined;
      if (tag !== undefined) tags.add(tag);
    }
    await Promise.all(
      [...tags].map((tag) =>
        run(BUMP, [k.marker(tag)], [given.epoch, String(given.seq), String(MARKER_TTL_MS)]).catch(() => undefined),
      ),
    );
  }

  #send(closing: boolean): (s: Script, keys: string[], args: string[]) => Promise<unknown> {
    return closing ? this.#o.lastTry : this.#o.runner.run.bind(this.#o.runner);
  }

  async #recordOnce(change: Change, closing: boolean): Promise<Given> {
    const k = this.#o.keys;
    const read = this.#o.read();
    // The last number this instance saw given (by its own changes or the log), the likeliest next.
    const known = this.#lastGiven.seq >= read.seq && this.#lastGiven.epoch === read.epoch;
    let epoch = (known ? this.#lastGiven.epoch : read.epoch) ?? '';
    let seq = known ? this.#lastGiven.seq : read.seq;
    const json = JSON.stringify({ n: this.#o.instance, ...change });
    for (let attempt = 0; attempt < MAX_SEAL_TRIES; attempt++) {
      const record = this.#o.cipher.seal(k.changeAad(epoch, seq + 1), json);
      const reply = await this.#send(closing)(
        INVALIDATE,
        [k.changeState, k.changeLog],
        [
          token(),
          record,
          k.channel,
          this.#o.publishMode,
          epoch,
          String(seq + 1),
          // A counter below what this instance has seen went back: Redis renews the epoch.
          String(this.#highest(epoch)),
        ],
      );
      const [status, e, s] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (status === 'ok') {
        if (typeof e !== 'string' || typeof s !== 'string') break;
        this.#lastGiven = { epoch: e, seq: Number(s) };
        return { epoch: e, seq: Number(s) };
      }
      if (status === 'type') {
        this.#o.onTypeMismatch();
        throw new FleetTypeMismatch('a fleet key in Redis has the wrong type');
      }
      if (status !== 'retry' || typeof e !== 'string' || typeof s !== 'string') break;
      epoch = e;
      seq = Number(s);
    }
    throw new Error('the change could not be numbered in Redis');
  }

  /** The highest change number this instance has seen in `epoch` (read, or given to its own). */
  #highest(epoch: string): number {
    const read = this.#o.read();
    const seen = read.epoch === epoch ? read.seq : 0;
    const given = this.#lastGiven.epoch === epoch ? this.#lastGiven.seq : 0;
    return Math.max(seen, given);
  }
}
