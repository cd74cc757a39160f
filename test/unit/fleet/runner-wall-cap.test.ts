// A command to a Redis that never answers, while every turn of the event loop is long (a busy app):
// the wait is capped in wall time, not stretched to commandTimeoutMs ÷ 25 turns of the loop.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { it } from 'node:test';
import pino from 'pino';
import { RedisRunner, RedisUnavailable, script, wallCapMs, type FleetRedisClient } from '../../../src/fleet/runner.js';

const TIMEOUT_MS = 250;
const TURN_MS = 400;

void it('a command never answered under a loop busy 400 ms a turn is rejected within the wall cap', async () => {
  const never = (): Promise<unknown> => new Promise(() => undefined);
  const client = {
    isReady: true,
    evalSha: never,
    eval: never,
    duplicate: () => {
      throw new Error('not used');
    },
    on: () => undefined,
  } as unknown as FleetRedisClient;
  const runner = new RedisRunner({
    client,
    commandTimeoutMs: TIMEOUT_MS,
    retryMs: 1000,
    log: pino({ level: 'silent' }),
  });
  // Every macrotask turn burns TURN_MS of CPU: each 25 ms slice fires one turn late.
  const busy = setInterval(() => {
    const end = Date.now() + TURN_MS;
    while (Date.now() < end) {
      // spin
    }
  }, 0);
  const t0 = performance.now();
  try {
    await assert.rejects(runner.run(script('return 1'), [], []), RedisUnavailable);
  } finally {
    clearInterval(busy);
  }
  const elapsed = performance.now() - t0;
  // Before the cap: 10 slices × 400 ms ≈ 4 s. The cap (1250 ms) plus a turn or two, generously.
  assert.ok(elapsed < 2.4 * wallCapMs(TIMEOUT_MS), `rejected after ${Math.round(elapsed)} ms`);
  assert.equal(runner.degraded, true);
});
