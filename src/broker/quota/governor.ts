import { BrokerError } from '../../errors.js';
import { abortReason } from '../abort.js';
import { QuotaRefusal } from './refusal.js';
import type { ResolvedQuotaOptions } from './options.js';
import type { BucketShape, QuotaStore, QuotaTake, QuotaTakeResult } from './store.js';
import { Lane, Promises, ServedRate, type Waiter } from './wait-queue.js';

export { QuotaRefusal, refusalOf } from './refusal.js';

/** How soon a queue is served again after its store failed, ms. */
const STORE_RETRY_MS = 50;

/**
 * Who a Cognito call is for, from the governor's point of view:
 *
 * - `refresh`: a background refresh of an entry that is still valid (served first; never counted
 *   against a user: nobody waits for it, and skipping it would push its user past expiry);
 * - `account`: link, unlink, merge (their own share of a bucket);
 * - `load`: a first load (a new user, an expired entry) and every other user request;
 * - `guest`: anonymous guest identities (their own small share, served last).
 */
export type QuotaPriority = 'refresh' | 'account' | 'load' | 'guest';

/** What the governor needs to know of a call: its priority and the user it is charged to. */
export interface QuotaCaller {
  /** Default `load`. */
  readonly priority?: QuotaPriority;
  /** The user whose request causes the call (charged to the user's budget unless `refresh`). */
  readonly userId?: string;
}

/** The timers the governor's waits use (node's by default; tests inject their own). */
export interface GovernorTimers {
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: GovernorTimers = Object.freeze({
  setTimeout: (fire: () => void, ms: number): unknown => setTimeout(fire, ms),
  clearTimeout: (handle: unknown): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

/**
 * The buckets where a share caps a priority: the ones it shares with many first loads. Elsewhere
 * (GetId: guests alone; Merge, Unlink…: account operations alone; the small DescribeIdentity and
 * LookupDeveloperIdentity buckets, where a fifth of the rate would make two account operations in a
 * row wait) a cap would only slow them down.
 */
const ACCOUNT_CAPPED: ReadonlySet<string> = new Set(['GetOpenIdTokenForDeveloperIdentity']);
const GUEST_CAPPED: ReadonlySet<string> = new Set(['GetCredentialsForIdentity']);

const RANK: Readonly<Record<QuotaPriority, number>> = Object.freeze({ refresh: 0, account: 1, load: 2, guest: 3 });
const LANES = 4;
/** Refused clients are promised slots at this many times the bucket's rate (see `#refusal`). */
const OVERBOOK = 2;
/** Refused clients are spread over at most this long past the first free slot, ms (see `#refusal`). */
const MAX_SPREAD_MS = 30_000;
/** …or over this many slots, when they take longer (a slow bucket). */
const MIN_SPREAD_SLOTS = 8;

/** Counters of {@link Governor}. */
export interface GovernorStats {
  /** Attempts refused by the governor for want of a token (503), by operation. */
  readonly quotaRefused: Readonly<Record<string, number>>;
  /** Calls refused because the user spent the per-user budget (429), by operation. */
  readonly userBudgetRefused: Readonly<Record<string, number>>;
}

/** The waiters of one bucket, one lane per priority (each a round robin of per-user FIFOs). */
interface Queue {
  readonly operation: string;
  readonly shape: BucketShape;
  readonly lanes: Lane[];
  timer: unknown;
  timerAt: number;
  pumping: boolean;
  /** The slots promised to refused clients (their Retry-After). */
  readonly promises: Promises;
  /** Tokens this queue's waiters got lately (a fleet's instance: its part of the shared bucket). */
  readonly served: ServedRate;
}

/** A call's entitlement to more attempts (its SDK retries), registered by {@link Governor.admit}. */
interface Ticket {
  readonly operation: string;
  readonly rank: number;
  readonly user: string;
  /** Governor time after which no attempt may wait (the call's timeout). */
  readonly callDeadline: number;
}

/**
 * The quota governor: a token bucket per Cognito operation in front of every attempt, a
 * priority-ordered wait queue per bucket, reserved shares, and a per-user budget. Its state sits in
 * a {@link QuotaStore}; the wait queues are this process's (a shared store makes the buckets hold
 * across a fleet; each instance orders its own waiters).
 */
export class Governor {
  readonly #o: ResolvedQuotaOptions;
  readonly #store: QuotaStore;
  readonly #now: () => number;
  readonly #timers: GovernorTimers;
  readonly #queues = new Map<string, Queue>();
  readonly #tickets = new WeakMap<AbortSignal, Ticket>();
  readonly #refused: Record<string, number> = {};
  readonly #userRefused: Record<string, number> = {};

  constructor(options: ResolvedQuotaOptions, timers: GovernorTimers = nodeTimers) {
    this.#o = options;
    this.#store = options.store;
    this.#now = options.now;
    this.#timers = timers;
  }

  /**
   * Admits one call of `operation`: charges the caller's user budget, then takes a token for the
   * first attempt (waiting at most `maxWaitMs`, never past `timeLeftMs`). Registers `signal` so that
   * {@link retry} can take tokens for the call's further attempts.
   * @throws QuotaRefusal carrying `ERR_RATE_LIMITED` (429) or `ERR_COGNITO_THROTTLED` (503), both
   *   with `retryAfterSeconds`; `signal`'s reason when it aborts during the wait.
   */
  async admit(
    operation: string,
    caller: QuotaCaller | undefined,
    signal: AbortSignal,
    timeLeftMs: number,
  ): Promise<void> {
    const rank = RANK[caller?.priority ?? 'load'];
    const now = this.#now();
    const userId = rank === RANK.refresh ? undefined : caller?.userId;
    const perUser = this.#o.perUser;
    const charged = perUser !== undefined && userId !== undefined;
    if (charged) {
      const r = await this.#store.take({ kind: 'user', key: userId, bucket: perUser, floor: 0, now });
      if (!r.granted) {
        this.#userRefused[operation] = (this.#userRefused[operation] ?? 0) + 1;
        throw new QuotaRefusal(
          new BrokerError('ERR_RATE_LIMITED', 'Too many requests for this user; try again later', {
            cause: new Error(`the user's budget of Cognito calls is spent (${operation})`),
            retryAfterSeconds: Math.max(1, Math.ceil(r.retryInMs / 1000)),
          }),
        );
      }
    }
    const callDeadline = now + timeLeftMs;
    // Turns are taken per user (refreshes too: one user's many entries do not hold back others').
    const user = caller?.userId ?? '';
    this.#tickets.set(signal, { operation, rank, user, callDeadline });
    try {
      await this.#acquire(operation, rank, user, Math.min(now + this.#o.maxWaitMs, callDeadline), signal);
    } catch (err) {
      if (charged) await this.#store.refund('user', userId, perUser, this.#now());
      throw err;
    }
  }

  /**
   * Takes a token for a further attempt (an SDK retry) of the call admitted with `signal`; nothing
   * for a signal never admitted.
   * @throws as {@link admit}, without the user budget (retries are the broker's, not the user's).
   */
  retry(signal: AbortSignal): Promise<void> | undefined {
    const ticket = this.#tickets.get(signal);
    if (ticket === undefined) return undefined;
    const now = this.#now();
    const deadline = Math.min(now + this.#o.maxWaitMs, ticket.callDeadline);
    return this.#acquire(ticket.operation, ticket.rank, ticket.user, deadline, signal);
  }

  /** Refusals since the broker was created. */
  stats(): GovernorStats {
    return { quotaRefused: { ...this.#refused }, userBudgetRefused: { ...this.#userRefused } };
  }

  async #acquire(operation: string, rank: number, user: string, deadline: number, signal: AbortSignal): Promise<void> {
    const shape = this.#o.buckets.get(operation);
    if (shape === undefined) return;
    if (signal.aborted) throw abortReason(signal);
    const queue = this.#queue(operation, shape);
    let retryInMs = 0;
    if (ahead(queue, rank) === 0) {
      const r = await this.#take(queue, rank);
      if (r.granted) {
        queue.promises.claimed(user);
        return;
      }
      retryInMs = r.retryInMs;
    }
    // Expected wait: until the bucket has a token when nobody is ahead, else one token time for
    // each waiter served before this one and one for this one.
    const before = ahead(queue, rank);
    const expected = before === 0 ? retryInMs : this.#waitFor(queue, rank, user, 'all');
    const now = this.#now();
    if (now + expected > deadline) {
      throw this.#refusal(queue, rank, user, before === 0 ? retryInMs : this.#waitFor(queue, rank, user, 'part'));
    }
    queue.promises.claimed(user);
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        rank,
        user,
        resolve,
        reject,
        settled: false,
        timer: undefined,
        cleanup: () => undefined,
      };
      const onAbort = (): void => {
        this.#settle(queue, waiter);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        signal.removeEventListener('abort', onAbort);
      };
      waiter.timer = this.#timers.setTimeout(
        () => {
          if (waiter.settled) return;
          this.#settle(queue, waiter);
          reject(this.#refusal(queue, rank, user, this.#waitFor(queue, rank, user, 'part')));
        },
        // One ms past the deadline: a token due at the deadline itself is served first.
        Math.max(0, deadline - now) + 1,
      );
      queue.lanes[rank]?.push(waiter);
      this.#schedule(queue, Math.max(1, retryInMs));
      // Arrivals also serve the queue: a token that came since the last timer (late under load) is
      // handed to the head at once rather than left to overflow the bucket.
      if (before > 0) void this.#pump(queue);
    });
  }

  /**
   * The rate a waiter of `rank` is served at, at most: its share's for capped priorities; in a
   * fleet (a store shared by `sharedBy` instances' queues), the part of it this queue has been
   * getting while it had waiters, between 1/`sharedBy` and all of it. Until that is known, `all`
   * (whether a call may wait: as one process would) or `part` (1/`sharedBy`: when a refused client
   * may come back, rather late than refused again).
   */
  #rateFor(queue: Queue, rank: number, unknown: 'all' | 'part'): number {
    const { operation, shape } = queue;
    let rate = shape.rate;
    if (rank === RANK.account && ACCOUNT_CAPPED.has(operation)) rate *= this.#o.accountShare;
    else if (rank === RANK.guest && GUEST_CAPPED.has(operation)) rate *= this.#o.guestShare;
    const sharedBy = this.#store.sharedBy ?? 1;
    if (sharedBy <= 1) return rate;
    const served = queue.served.rate(this.#now());
    if (served === undefined) return unknown === 'all' ? rate : rate / sharedBy;
    return rate * Math.min(1, Math.max(1 / sharedBy, served / shape.rate));
  }

  /** How long one more waiter of `user` at `rank` would wait: one token time for each served before it, and its own. */
  #waitFor(queue: Queue, rank: number, user: string, unknown: 'all' | 'part'): number {
    let before = queue.lanes[rank]?.ahead(user) ?? 0;
    for (let r = 0; r < rank; r++) before += queue.lanes[r]?.count ?? 0;
    return ((before + 1) * 1000) / this.#rateFor(queue, rank, unknown);
  }

  #take(queue: Queue, rank: number): QuotaTakeResult | Promise<QuotaTakeResult> {
    const { shape, operation } = queue;
    // Lower priorities leave a quarter of the burst to higher ones (none in buckets of a burst under
    // 4, such as the 50 rps token bucket's 2: there, the burst is what absorbs late timers, and the
    // wait queue already serves higher priorities first).
    const floor = rank >= RANK.load ? Math.floor(shape.burst / 4) : 0;
    const shareOf =
      rank === RANK.account && ACCOUNT_CAPPED.has(operation)
        ? this.#o.accountShare
        : rank === RANK.guest && GUEST_CAPPED.has(operation)
          ? this.#o.guestShare
          : undefined;
    const take: QuotaTake = {
      kind: 'operation',
      key: operation,
      bucket: shape,
      floor,
      now: this.#now(),
      ...(shareOf === undefined
        ? {}
        : {
            cap: {
              key: `${operation}#${rank === RANK.account ? 'account' : 'guest'}`,
              bucket: { rate: shape.rate * shareOf, burst: Math.max(1, shape.burst * shareOf) },
            },
          }),
    };
    return this.#store.take(take);
  }

  #queue(operation: string, shape: BucketShape): Queue {
    let queue = this.#queues.get(operation);
    if (queue === undefined) {
      queue = {
        operation,
        shape,
        lanes: Array.from({ length: LANES }, () => new Lane()),
        timer: undefined,
        timerAt: Infinity,
        pumping: false,
        promises: new Promises(),
        served: new ServedRate(),
      };
      this.#queues.set(operation, queue);
    }
    return queue;
  }

  /** Marks a waiter done (served, timed out or aborted) and frees its timer and listener. */
  #settle(queue: Queue, waiter: Waiter): void {
    if (waiter.settled) return;
    waiter.settled = true;
    queue.lanes[waiter.rank]?.settled(waiter);
    this.#timers.clearTimeout(waiter.timer);
    waiter.cleanup();
  }

  /** Runs {@link pump} in `ms` (or sooner if already due sooner). */
  #schedule(queue: Queue, ms: number): void {
    const at = this.#now() + ms;
    if (queue.timer !== undefined && queue.timerAt <= at) return;
    if (queue.timer !== undefined) this.#timers.clearTimeout(queue.timer);
    queue.timerAt = at;
    queue.timer = this.#timers.setTimeout(() => {
      queue.timer = undefined;
      queue.timerAt = Infinity;
      void this.#pump(queue);
    }, ms);
  }

  /**
   * Serves waiters while tokens come: the head of the highest lane that can take one, so a lane
   * stopped by its share's cap does not hold back the lanes below it.
   */
  async #pump(queue: Queue): Promise<void> {
    if (queue.pumping) return;
    queue.pumping = true;
    try {
      for (;;) {
        let served = false;
        let nextMs = Infinity;
        for (let rank = 0; rank < LANES && !served; rank++) {
          const lane = queue.lanes[rank];
          const head = lane?.head();
          if (lane === undefined || head === undefined) continue;
          const r = await this.#take(queue, rank);
          if (head.settled) {
            // Timed out or aborted while the take was in flight: the token goes back.
            if (r.granted) await this.#store.refund('operation', queue.operation, queue.shape, this.#now());
            nextMs = 0;
            continue;
          }
          if (r.granted) {
            queue.served.add(this.#now());
            lane.served(head);
            this.#settle(queue, head);
            head.resolve();
            served = true;
          } else {
            // At least 1 ms: a store answering 0 would otherwise spin this loop without yielding.
            nextMs = Math.min(nextMs, Math.max(1, r.retryInMs));
          }
        }
        if (served || nextMs === 0) continue;
        if (nextMs !== Infinity) this.#schedule(queue, Math.max(1, nextMs));
        return;
      }
    } catch {
      // A store that failed (a shared store's connection): the waiters keep their deadlines, and the
      // queue is served again shortly rather than left until each one times out.
      this.#schedule(queue, STORE_RETRY_MS);
    } finally {
      queue.pumping = false;
    }
  }

  /**
   * The refusal of `user`'s call whose token is `waitMs` away. Its Retry-After is when a retry can
   * be served: `waitMs`, then one slot for each client refused earlier and not back yet, less the
   * `maxWaitMs` the retry may wait in the queue (at least 1 s). Refused clients then come back at
   * about twice the pace the bucket serves them: not all at once (a storm of retries that are
   * refused again), and the queue stays stocked when some come back late (rather than the bucket
   * idling while they sleep). One slot per client, not per refusal (see {@link Promises}), at most
   * `MAX_SPREAD_MS` of them: clients that retry without pause cannot push the others' Retry-After
   * minutes away.
   */
  #refusal(queue: Queue, rank: number, user: string, waitMs: number): QuotaRefusal {
    const { operation } = queue;
    this.#refused[operation] = (this.#refused[operation] ?? 0) + 1;
    const now = this.#now();
    const paceMs = 1000 / (OVERBOOK * this.#rateFor(queue, rank, 'part'));
    const slot = queue.promises.book(user, now + waitMs, now, {
      paceMs,
      // A slow bucket (a token every few seconds) spreads a few clients over longer.
      maxSpreadMs: Math.max(MAX_SPREAD_MS, MIN_SPREAD_SLOTS * paceMs),
      waitMs: this.#o.maxWaitMs,
    });
    const retryInMs = slot - now - this.#o.maxWaitMs;
    return new QuotaRefusal(
      new BrokerError('ERR_COGNITO_THROTTLED', 'The identity service is busy; try again shortly', {
        cause: new Error(`no ${operation} token from the quota governor within maxWaitMs`),
        retryable: true,
        retryAfterSeconds: Math.max(1, Math.ceil(retryInMs / 1000)),
      }),
    );
  }
}

/** Waiters of `rank` and higher priorities. */
function ahead(queue: Queue, rank: number): number {
  let n = 0;
  for (let r = 0; r <= rank; r++) n += queue.lanes[r]?.count ?? 0;
  return n;
}
