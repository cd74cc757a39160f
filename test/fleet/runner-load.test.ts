// An overloaded host is not a failed Redis: a command in flight while this process's event loop is
// blocked for longer than commandTimeoutMs is answered and does not degrade the tier; a paused
// Redis (SIGSTOP) still does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { RedisRunner, RedisUnavailable, script } from '../../src/fleet/runner.js';
import { logSink } from '../helpers/log-sink.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const TIMEOUT_MS = 100;
const PING = script("return redis.call('PING')");

/** Blocks this thread for `ms` (a busy host: other work holding the event loop). */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

void describe('RedisRunner under a busy event loop', { skip: redisSkipReason() }, () => {
  let server: RedisServer;
  let client: ReturnType<typeof createClient>;
  before(async () => {
    server = await startRedisServer();
    client = createClient({ url: server.url, socket: { reconnectStrategy: () => 100 } });
    client.on('error', () => undefined);
    await client.connect();
  });
  after(async () => {
    client.destroy();
    await server.stop();
  });

  const runner = (): RedisRunner =>
    new RedisRunner({ client, commandTimeoutMs: TIMEOUT_MS, retryMs: 1000, log: logSink().logger });

  void it('a command in flight while the loop is blocked for 4 × the timeout is answered; the tier stays shared', async () => {
    const r = runner();
    for (let i = 0; i < 5; i++) {
      const reply = r.run(PING, [], []);
      // Sent; the answer comes into the socket while this thread is busy.
      busy(4 * TIMEOUT_MS);
      assert.equal(await reply, 'PONG');
    }
    // Blocked after a few ms of waiting too, and in several pieces.
    const reply = r.run(PING, [], []);
    await new Promise((resolve) => setTimeout(resolve, 5));
    busy(2 * TIMEOUT_MS);
    await new Promise((resolve) => setImmediate(resolve));
    busy(2 * TIMEOUT_MS);
    assert.equal(await reply, 'PONG');
    assert.equal(r.degraded, false);
    assert.equal(r.errors, 0);
    assert.equal(r.degradations, 0);
  });

  void it('a paused Redis still degrades the tier, with a busy loop or without', async () => {
    const r = runner();
    assert.equal(await r.run(PING, [], []), 'PONG');
    server.pause();
    try {
      await assert.rejects(r.run(PING, [], []), RedisUnavailable);
      assert.equal(r.degraded, true);
      assert.equal(r.degradations, 1);
      const other = runner();
      const reply = other.run(PING, [], []);
      busy(3 * TIMEOUT_MS);
      await assert.rejects(reply, RedisUnavailable);
      assert.equal(other.degraded, true);
    } finally {
      server.resume();
    }
    // Back: the next probe (after retryMs) shares again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await r.run(PING, [], []), 'PONG');
    assert.equal(r.degraded, false);
  });
});
