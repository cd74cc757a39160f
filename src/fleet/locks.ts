import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { abortReason } from '../broker/abort.js';
import type { FleetLock } from '../broker/fleet.js';
import type { CleanupQueue } from './cleanups.js';
import type { FleetKeys } from './keys.js';
import type { RedisRunner } from './runner.js';
import { LOCK, UNLOCK } from './scripts.js';
import { sent } from './shared-load.js';

/** Lock polling while the same owner holds it on another instance, ms. */
const LOCK_POLL_MS = 100;

/** What {@link takeLock} needs of the tier. */
export interface LockContext {
  readonly runner: RedisRunner;
  readonly keys: FleetKeys;
  readonly cleanups: CleanupQueue;
  /** The longest the same owner's run elsewhere is waited for, ms. */
  readonly waitMs: number;
}

/**
 * Takes the fleet-wide lock `name` for `owner`: `'held-by-other'` when another owner holds it;
 * waits (polling) while the same owner holds it on another instance, no longer than a call. With
 * Redis out, no lock (the caller's per-process guard and its after-the-fact check stand alone).
 */
export async function takeLock(
  c: LockContext,
  name: string,
  owner: string,
  ttlMs: number,
  signal?: AbortSignal,
): Promise<FleetLock | 'held-by-other'> {
  const key = c.keys.lock(name);
  const ownerName = c.keys.name(owner);
  const value = `${ownerName}:${randomBytes(12).toString('base64url')}`;
  // The same owner's run elsewhere is waited for no longer than a call: then this one runs too
  // (the same user's upgrade is safe to repeat; another user's is refused).
  const until = performance.now() + c.waitMs;
  const unlocked: FleetLock = { release: () => undefined };
  for (;;) {
    if (signal?.aborted === true) throw abortReason(signal);
    let reply: unknown;
    try {
      reply = await c.runner.run(LOCK, [key], [value, String(ttlMs), ownerName]);
    } catch (err) {
      // A command sent may still have taken the lock: free it once Redis answers.
      if (sent(err)) c.cleanups.later(UNLOCK, [key], [value], err);
      return unlocked;
    }
    if (reply === 'ok') {
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          c.cleanups.now(UNLOCK, [key], [value]);
        },
      };
    }
    if (reply !== 'same') return 'held-by-other';
    if (performance.now() + LOCK_POLL_MS > until) return unlocked;
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}
