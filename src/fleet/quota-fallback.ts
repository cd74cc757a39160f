import { performance } from 'node:perf_hooks';
import {
  InMemoryQuotaStore,
  type BucketShape,
  type QuotaStore,
  type QuotaTake,
  type QuotaTakeResult,
} from '../broker/quota/store.js';
import { HEARTBEAT, LEAVE } from './quota-scripts.js';
import type { RedisRunner } from './runner.js';

/** How often an instance says it is live, ms. */
export const HEARTBEAT_MS = 1000;
/** An instance not heard of for this long is no longer counted live, ms (a beat or two may be missed). */
export const LIVE_MS = 3500;
/**
 * Default of `expectedInstances`: the fewest instances the quota is split between during an outage.
 * Three, the smallest fleet spread over three zones: an instance that never reached Redis (started
 * during an outage) assumes it, rather than that it is alone, and a single instance set to 1 says so.
 */
export const DEFAULT_EXPECTED_INSTANCES = 3;
/** Default of `maxInstances`: the most instances a heartbeat count is believed up to. */
export const DEFAULT_MAX_INSTANCES = 100;

/** Options of {@link fallbackStore}. */
export interface FallbackOptions {
  /** The heartbeat's key: the set of live instances (`FleetKeys.liveSet`). */
  readonly liveSet: string;
  /** This instance's random id (names nothing else). */
  readonly instance: string;
  /** Most user buckets kept in this process while degraded (the broker's `cache.max`). */
  readonly maxUsers: number;
  /** The tier's `retryMs` and `commandTimeoutMs`: how far apart the instances may see Redis again. */
  readonly retryMs: number;
  readonly commandTimeoutMs: number;
  /** The count before the first heartbeat, and the floor of every count. Default {@link DEFAULT_EXPECTED_INSTANCES}. */
  readonly expectedInstances?: number;
  /** The ceiling of every count. Default {@link DEFAULT_MAX_INSTANCES}. */
  readonly maxInstances?: number;
}

/** The quota store of a fleet tier: the shared buckets, and this instance's share while degraded. */
export interface FallbackQuotaStore extends QuotaStore {
  /**
   * Instances the quota is split between: the largest heartbeat count of the last {@link LIVE_MS}
   * (this one included) clamped to [`expectedInstances`, `maxInstances`]; `expectedInstances`
   * before the first beat.
   */
  readonly liveInstances: number;
  /** Stops the heartbeat and takes this instance off the live set (best effort). */
  close(): void;
}

/** One bucket of this instance's share: a fraction of an operation's bucket. */
interface Share {
  tokens: number;
  at: number;
}

/** The buckets of this instance's share during one outage (and the hand-over after it). */
interface Episode {
  /** Instances the quota is split between. */
  readonly instances: number;
  readonly buckets: Map<string, Share>;
  /** Governor time the shared buckets answered again, or `undefined` while they do not. */
  sharedSince: number | undefined;
}

/** The share of `bucket` one of `n` instances takes: together never more than the bucket lets through in a second. */
export function shareOf(bucket: BucketShape, n: number): BucketShape {
  if (n <= 1) return bucket;
  // A bucket lets burst + rate through in any 1 s window; the shares add up to the same, each with
  // a burst of at least one call (a call is one token). Past burst + rate instances, the one-call
  // bursts alone go over: then only the rate is split.
  const perSecond = (bucket.burst + bucket.rate) / n;
  const burst = Math.max(1, bucket.burst / n);
  const rate = perSecond - burst > 0 ? perSecond - burst : bucket.rate / n;
  return { rate, burst };
}

/**
 * The shared quota store while Redis answers; while it does not, this instance's share of each
 * operation's bucket (the bucket ÷ the live instances last seen by a heartbeat), so that the
 * account's quota holds for the fleet whatever fails (as rate-limiter-flexible's insurance limiter
 * does). Per-user budgets fall back to full per-process buckets (bounded by `maxUsers`): they guard
 * against one user, not the account.
 *
 * The share starts empty when the tier was sharing before (the fleet may have spent the shared
 * bucket just before the outage), full when this instance never saw Redis (a share of
 * `expectedInstances`, the count assumed then). After Redis answers
 * again, takes pass both the shared bucket and this share for as long as the other instances may
 * still be degraded (`retryMs` + `commandTimeoutMs` + two heartbeats): the instances see Redis
 * again at different times, and the shared bucket knows nothing of what the degraded ones take.
 */
export function fallbackStore(runner: RedisRunner, shared: QuotaStore, options: FallbackOptions): FallbackQuotaStore {
  const users = new InMemoryQuotaStore({ maxUsers: options.maxUsers });
  const liveKey = options.liveSet;
  const handOverMs = options.retryMs + options.commandTimeoutMs + 2 * HEARTBEAT_MS;
  /** Live counts the heartbeat answered, with this process's time, newest last (within LIVE_MS). */
  const seen: { at: number; count: number }[] = [];
  let episode: Episode | undefined;
  let closed = false;

  const expected = options.expectedInstances ?? DEFAULT_EXPECTED_INSTANCES;
  const most = Math.max(expected, options.maxInstances ?? DEFAULT_MAX_INSTANCES);
  // The live set is Redis data: a writer could fill it (starving every share) or empty it (each
  // instance then counts itself alone). Never fewer than the fleet is expected to have, nor more
  // than it can have; before any beat, what is expected (an instance that never reached Redis
  // knows of no one, which does not mean there is no one).
  const live = (): number => Math.min(most, Math.max(expected, ...seen.map((s) => s.count)));

  const beat = (): void => {
    if (closed) return;
    runner.run(HEARTBEAT, [liveKey], [options.instance, String(LIVE_MS)]).then(
      (reply) => {
        if (typeof reply !== 'number' || !Number.isSafeInteger(reply) || reply < 1) return;
        const at = performance.now();
        seen.push({ at, count: reply });
        // The largest count of the last LIVE_MS: after a restart the others beat again one by one.
        while (seen.length > 1 && (seen[0]?.at ?? at) < at - LIVE_MS) seen.shift();
      },
      () => undefined,
    );
  };
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  beat();

  /** This outage's share buckets (the hand-over's too, if it had begun): a new one after a completed hand-over. */
  const degrade = (): Episode => {
    episode ??= { instances: live(), buckets: new Map(), sharedSince: undefined };
    episode.sharedSince = undefined;
    return episode;
  };

  const level = (e: Episode, key: string, bucket: BucketShape, now: number): Share => {
    let s = e.buckets.get(key);
    if (s === undefined) {
      // Empty when the fleet may have spent the shared bucket just before; full when this
      // instance never shared (nothing of the quota is known to be spent): full of a share of
      // `expectedInstances`, so that instances started during an outage stay within the bucket.
      s = { tokens: seen.length === 0 ? bucket.burst : 0, at: now };
      e.buckets.set(key, s);
    }
    s.tokens = Math.min(bucket.burst, s.tokens + (Math.max(0, now - s.at) / 1000) * bucket.rate);
    s.at = now;
    return s;
  };

  /** One take from this instance's share (both buckets or neither, as the store's take). */
  const takeShare = (e: Episode, take: QuotaTake): QuotaTakeResult => {
    const { now } = take;
    const main = shareOf(take.bucket, e.instances);
    const m = level(e, take.key, main, now);
    const floor = Math.min(Math.floor(take.floor / e.instances), Math.floor(main.burst) - 1);
    let waitMs = m.tokens >= floor + 1 ? 0 : ((floor + 1 - m.tokens) / main.rate) * 1000;
    let cap: { share: Share; shape: BucketShape } | undefined;
    if (take.cap !== undefined) {
      const shape = shareOf(take.cap.bucket, e.instances);
      const c = level(e, take.cap.key, shape, now);
      if (c.tokens < 1) waitMs = Math.max(waitMs, ((1 - c.tokens) / shape.rate) * 1000);
      cap = { share: c, shape };
    }
    if (waitMs > 0) return { granted: false, retryInMs: Math.max(1, Math.ceil(waitMs)) };
    m.tokens -= 1;
    if (cap !== undefined) cap.share.tokens -= 1;
    return { granted: true };
  };

  const giveBack = (e: Episode, take: QuotaTake): void => {
    for (const [key, bucket] of [
      [take.key, take.bucket] as const,
      ...(take.cap ? [[take.cap.key, take.cap.bucket] as const] : []),
    ]) {
      const s = e.buckets.get(key);
      if (s !== undefined) s.tokens = Math.min(shareOf(bucket, e.instances).burst, s.tokens + 1);
    }
  };

  return {
    get liveInstances() {
      return live();
    },
    // Shared or degraded, this instance's queue is served about one live instance's part of a bucket.
    get sharedBy() {
      return live();
    },
    close() {
      closed = true;
      clearInterval(timer);
      runner.run(LEAVE, [liveKey], [options.instance]).catch(() => undefined);
    },
    async take(take: QuotaTake) {
      if (take.kind === 'user') {
        if (!runner.usable()) return users.take(take);
        try {
          return await shared.take(take);
        } catch {
          return users.take(take);
        }
      }
      const { now } = take;
      if (episode?.sharedSince !== undefined && now - episode.sharedSince >= handOverMs) episode = undefined;
      if (!runner.usable()) return takeShare(degrade(), take);
      const e = episode;
      if (e === undefined) {
        try {
          return await shared.take(take);
        } catch {
          return takeShare(degrade(), take);
        }
      }
      // Degraded lately (a probe) or handing over: this share too, until every instance shares
      // again; the shared bucket then bounds the fleet alone.
      const mine = takeShare(e, take);
      if (!mine.granted) return mine;
      try {
        const r = await shared.take(take);
        e.sharedSince ??= now;
        if (!r.granted) giveBack(e, take);
        return r;
      } catch {
        e.sharedSince = undefined;
        return mine;
      }
    },
    async refund(kind: 'operation' | 'user', key: string, bucket: BucketShape, now: number) {
      if (!runner.usable()) {
        if (kind === 'user') users.refund(kind, key, bucket, now);
        else if (episode !== undefined) giveBack(episode, { kind, key, bucket, floor: 0, now });
        return;
      }
      if (kind === 'operation' && episode !== undefined) giveBack(episode, { kind, key, bucket, floor: 0, now });
      try {
        await shared.refund(kind, key, bucket, now);
      } catch {
        if (kind === 'user') users.refund(kind, key, bucket, now);
      }
    },
  };
}
