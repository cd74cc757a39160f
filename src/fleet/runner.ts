import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { RedisProblem } from '../broker/seam-types.js';

/**
 * The part of a node-redis client (`createClient()` of the `redis` package, v6) or cluster
 * (`createCluster()`) the fleet tier uses. Structural, so that any module set or type mapping of
 * the app's client fits. A cluster routes each script by its first key.
 */
export interface FleetRedisClient {
  readonly isReady: boolean;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  duplicate(): FleetRedisSubscriber;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** The connection the tier subscribes on (`client.duplicate()`). */
export interface FleetRedisSubscriber {
  readonly isReady: boolean;
  on(event: 'error' | 'ready' | 'end', listener: (err?: Error) => void): unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  /** Sharded pub/sub (Redis ≥ 7), on a cluster. */
  sSubscribe?(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  destroy(): void;
}

/** How the tier publishes: `''` classic PUBLISH (one server), `'s'` SPUBLISH (a cluster's sharded channel). */
export type PublishMode = '' | 's';

/** Whether `client` is a node-redis cluster (`createCluster()`): it knows its masters and their clients. */
export function isCluster(client: unknown): boolean {
  const c = client as { masters?: unknown; nodeClient?: unknown } | null;
  return typeof c === 'object' && c !== null && Array.isArray(c.masters) && typeof c.nodeClient === 'function';
}

/**
 * The misconfiguration an error reply shows (one that retrying cannot fix), or `undefined` for an
 * outage (a timeout, a lost connection, a failover under way: CLUSTERDOWN, READONLY, LOADING, TRYAGAIN).
 */
export function problemOf(err: unknown, cluster: boolean): RedisProblem | undefined {
  const m = err instanceof Error ? err.message : '';
  if (/^CROSSSLOT\b|do not hash to the same slot|non local key|accessing keys of different slots/i.test(m))
    return 'CROSSSLOT';
  // A cluster client follows redirections itself: one that reaches the caller is a single-node
  // client talking to a cluster node.
  if (!cluster && /^(MOVED|ASK)\b/.test(m)) return 'MOVED';
  // An ACL denial inside a script reads `ERR The user executing the script can't ...` (Redis 7.0):
  // a command, a key, or a channel (Redis 7 gives a new ACL user no channel unless `&` says so).
  if (/^NOPERM\b|no permissions to (run|access)|user executing the script can'?t/i.test(m)) return 'NOPERM';
  if (/^(NOAUTH|WRONGPASS)\b/.test(m)) return 'NOAUTH';
  if (/^NOSCRIPT\b|scripting is disabled|unknown command .?(eval|evalsha)/i.test(m)) return 'NOSCRIPT';
  if (/unknown (redis )?command/i.test(m)) return 'UNKNOWN_COMMAND';
  if (/^WRONGTYPE\b/.test(m)) return 'WRONGTYPE';
  if (/^OOM\b/.test(m)) return 'OOM';
  return undefined;
}

/**
 * How long after its error line a problem's kind is said again, ms. A problem that only some
 * commands meet (a single-node client on the cluster node that holds the change feed: MOVED for the
 * users of other nodes) is cleared by every probe that succeeds, and met again by the next such
 * user: said once per kind per this, not once per round.
 */
export const PROBLEM_LOG_EVERY_MS = 10 * 60_000;

/** What an operator reads for each problem (never the command's arguments). */
const HINTS: Record<RedisProblem, string> = {
  CROSSSLOT: 'a script touched keys of several cluster slots (a proxy or client that does not route by key?)',
  MOVED: 'a single-node client was given a Redis Cluster: pass a createCluster() client',
  NOPERM:
    "the Redis user may not run the tier's commands (ACL: allow EVALSHA, EVAL, PUBLISH or SPUBLISH, SUBSCRIBE or SSUBSCRIBE, the keys and channels of the prefix)",
  NOAUTH: 'Redis refused the credentials',
  NOSCRIPT: 'Redis does not run Lua scripts (scripting disabled)',
  UNKNOWN_COMMAND: 'Redis lacks a command the tier needs (sharded pub/sub needs Redis 7 or later)',
  WRONGTYPE: 'a key of the tier has another type',
  OOM: 'Redis is full (maxmemory reached with noeviction)',
};

/** A Lua script run with EVALSHA (its source sent again after a flush or restart lost it). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

/** A script from its Lua source. */
export function script(source: string): Script {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}

/**
 * A command's wait is timed in slices of this length, ms: a slice that fires late shows the event
 * loop was blocked meanwhile, and the lateness is not counted as Redis's.
 */
const TIMEOUT_SLICE_MS = 25;

/**
 * The longest a command waits in wall time, whatever the event loop's lag, for a `limit` ms
 * timeout: the slices above leave out a blocked loop's time, but a loop that is always busy
 * (each turn long) would otherwise stretch the wait to `limit` ÷ 25 turns. Four times the limit,
 * and at least a second more than it, so that a loop blocked for a few times the limit while the
 * reply comes in still reads it (runner-load.test.ts blocks it 4 × a 100 ms limit).
 */
export function wallCapMs(limit: number): number {
  return Math.max(4 * limit, limit + 1000);
}

/** The fleet tier could not use Redis for this step: the caller works per process instead. */
export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable';
  /** The misconfiguration Redis refused the step for (retrying cannot fix it), if that was why. */
  readonly problem: RedisProblem | undefined;

  constructor(message: string, options?: ErrorOptions & { readonly problem?: RedisProblem | undefined }) {
    super(message, options);
    this.problem = options?.problem;
  }
}

/** Options of {@link RedisRunner}. */
export interface RedisRunnerOptions {
  readonly client: FleetRedisClient;
  /** Longest wait for one command's answer, ms. */
  readonly commandTimeoutMs: number;
  /** After a failure, how long no command is sent (every step works per process), ms. */
  readonly retryMs: number;
  readonly log: Logger;
  /** Called when Redis answers again after a failure (changes may have been missed meanwhile). */
  readonly onRecovered?: () => void;
  readonly now?: () => number;
}

/**
 * Runs the tier's scripts on the app's client, and is the one place that decides whether Redis is
 * usable: a client not connected, a command that fails or takes longer than `commandTimeoutMs`
 * (a paused or failed server; the time this process's own event loop was blocked is not counted,
 * so an overloaded host is not taken for a failed Redis) puts the tier in the degraded state for `retryMs`, during which
 * every step fails at once with {@link RedisUnavailable} (so no request waits on a dead Redis), and
 * the next command after it probes again. One warning when the tier degrades, one info line when
 * it recovers; node-redis reconnects by itself.
 */
export class RedisRunner {
  readonly #client: FleetRedisClient;
  readonly #o: RedisRunnerOptions;
  readonly #now: () => number;
  #degradedUntil = 0;
  #degraded = false;
  #probing = false;
  #degradations = 0;
  #errors = 0;
  #problem: RedisProblem | undefined;
  /** When each kind of problem was last said (this process's clock). */
  readonly #problemSaid = new Map<RedisProblem, number>();
  readonly #cluster: boolean;

  constructor(options: RedisRunnerOptions) {
    this.#o = options;
    this.#client = options.client;
    this.#now = options.now ?? (() => performance.now());
    this.#cluster = isCluster(options.client);
  }

  /** Whether the client is a Redis Cluster. */
  get cluster(): boolean {
    return this.#cluster;
  }

  /** The misconfiguration Redis showed last, until a probe succeeds (see `FleetStats.problem`). */
  get problem(): RedisProblem | undefined {
    return this.#problem;
  }

  /** True while the tier works per process (Redis failed within the last `retryMs`, or is not connected). */
  get degraded(): boolean {
    return this.#degraded;
  }

  get degradations(): number {
    return this.#degradations;
  }

  get errors(): number {
    return this.#errors;
  }

  /** True when a command would be sent now (connected, and not degraded or due for a probe). */
  usable(): boolean {
    if (!this.#client.isReady) {
      // Lost (or never made) connection: degraded at once, not at the next command.
      if (!this.#degraded) this.#fail(new Error('the Redis client is not connected'));
      return false;
    }
    return !this.#degraded || (!this.#probing && this.#now() >= this.#degradedUntil);
  }

  /**
   * Runs `s` with `keys` and `args`.
   * @throws RedisUnavailable when Redis is not usable or the command fails or times out.
   */
  async run(s: Script, keys: string[], args: string[]): Promise<unknown> {
    if (!this.usable()) throw new RedisUnavailable('Redis is unavailable');
    // While degraded, one command at a time probes; the others work per process meanwhile.
    const probe = this.#degraded;
    if (probe) this.#probing = true;
    let out: unknown;
    try {
      try {
        out = await this.#timed(this.#client.evalSha(s.sha, { keys, arguments: args }));
      } catch (err) {
        // Scripts are lost with a flush, a restart or a failover: send the source once.
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        out = await this.#timed(this.#client.eval(s.source, { keys, arguments: args }));
      }
    } catch (err) {
      throw new RedisUnavailable('Redis is unavailable', { cause: err, problem: this.#fail(err) });
    } finally {
      if (probe) this.#probing = false;
    }
    // Only a probe ends an outage: a command sent before it began may still answer after another
    // one failed, and would end it at once (and the next failure would start a second one).
    if (this.#degraded && probe) {
      this.#degraded = false;
      this.#problem = undefined;
      this.#o.log.info('fleet: Redis answers again; sharing resumed');
      this.#o.onRecovered?.();
    }
    return out;
  }

  /**
   * `reply`, or a rejection once it is overdue by `commandTimeoutMs` of this process's own free time.
   * node-redis's own command timeout stops at the write: a command already sent to a server that
   * stopped answering (paused, failed) waits for its reply for ever, so the wait is bounded here;
   * the late reply is dropped.
   *
   * Time this process spent unable to read a reply (its event loop blocked by other work: a busy
   * host) is not counted against Redis: the wait runs in slices, and whatever a slice fired late
   * by is left out; and the last check runs after the loop's next I/O phase, so a reply that came
   * in while the loop was blocked is read before the command is judged late. An overloaded host
   * then makes a command slow, not the tier degraded. The wait never passes {@link wallCapMs} of
   * wall time, however busy the loop (each late slice counts at most its own length).
   */
  #timed(reply: Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const limit = this.#o.commandTimeoutMs;
      const deadline = performance.now() + wallCapMs(limit);
      let settled = false;
      let free = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = (): void => {
        const slice = Math.min(TIMEOUT_SLICE_MS, limit - free);
        const at = performance.now();
        timer = setTimeout(() => {
          timer = undefined;
          // Fired late: the loop was busy for the difference, when no reply could be read.
          const firedAt = performance.now();
          free += Math.min(slice, firedAt - at);
          if (free < limit && firedAt < deadline) {
            arm();
            return;
          }
          // Replies that came in while the loop was blocked are read in the poll phase, before this.
          setImmediate(() => {
            if (settled) return;
            settled = true;
            reject(new Error(`no answer from Redis within ${limit} ms`));
          });
        }, slice);
      };
      arm();
      reply.then(
        (value) => {
          if (settled) return;
          settled = true;
          if (timer !== undefined) clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          if (timer !== undefined) clearTimeout(timer);
          reject(err instanceof Error ? err : new Error('Redis command failed'));
        },
      );
    });
  }

  /** Counts a failure and degrades the tier; returns the misconfiguration it shows, if any. */
  #fail(err: unknown): RedisProblem | undefined {
    this.#errors += 1;
    const problem = problemOf(err, this.#cluster);
    const said = problem === undefined ? undefined : this.#problemSaid.get(problem);
    if (problem !== undefined && (said === undefined || this.#now() - said >= PROBLEM_LOG_EVERY_MS)) {
      // Said once per kind, loudly: retrying will not fix it.
      this.#problemSaid.set(problem, this.#now());
      this.#o.log.error(
        { problem, hint: HINTS[problem] },
        'fleet: Redis refuses the tier; working per process until fixed',
      );
    }
    if (problem !== undefined) this.#problem = problem;
    this.#degradedUntil = this.#now() + this.#o.retryMs;
    if (this.#degraded) return problem;
    this.#degraded = true;
    this.#degradations += 1;
    // The error's message only (a connection refused, a timeout): node-redis never puts a command's
    // arguments in it, and the tier's arguments hold nothing in clear anyway.
    this.#o.log.warn(
      { err: err instanceof Error ? err.message : 'unknown', retryMs: this.#o.retryMs },
      'fleet: Redis unavailable; working per process until it answers',
    );
    return problem;
  }
}
