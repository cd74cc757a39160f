import type { FleetHost } from '../broker/fleet.js';

/** Options of {@link CutOffWatch}. */
export interface CutOffWatchOptions {
  readonly host: FleetHost;
  /** How long the log may go unread before the cache is dropped, ms. */
  readonly cutOffAfterMs: number;
  readonly syncIntervalMs: number;
  /** Called before the cache is dropped (prefetched entries must go). */
  readonly onChange: () => void;
}

/**
 * An instance that cannot read the change log (cut off from Redis while others change
 * identities) serves nothing older than the bound: once the log has gone unread for
 * `cutOffAfterMs`, every entry is dropped, and while it stays unread, what was loaded meanwhile
 * (from Cognito) is dropped again every `syncIntervalMs`.
 */
export class CutOffWatch {
  readonly #o: CutOffWatchOptions;
  /** Fires when the log has gone unread for `cutOffAfterMs`, then every `syncIntervalMs` while it stays unread. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cutOff = false;
  #stopped = false;

  constructor(options: CutOffWatchOptions) {
    this.#o = options;
    this.#arm(options.cutOffAfterMs);
  }

  /** The log was read; the read was sent `sinceMs` ago. */
  read(sinceMs: number): void {
    if (this.#stopped) return;
    this.#cutOff = false;
    this.#arm(this.#o.cutOffAfterMs - sinceMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #arm(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#fire();
      },
      Math.max(0, delayMs),
    );
    this.#timer.unref();
  }

  #fire(): void {
    if (this.#stopped) return;
    this.#o.onChange();
    if (this.#cutOff) {
      this.#o.host.dropStored();
    } else {
      this.#cutOff = true;
      this.#o.host.log.warn(
        { afterMs: this.#o.cutOffAfterMs },
        'fleet: change log unread too long; cache entries are dropped until it is read again',
      );
      this.#o.host.dropAll();
    }
    this.#arm(Math.min(this.#o.syncIntervalMs, this.#o.cutOffAfterMs));
  }
}
