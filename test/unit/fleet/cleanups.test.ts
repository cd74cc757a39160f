// Clean-up steps kept while Redis is out: an outage keeps them for the next recovery; a refusal
// that retrying cannot fix (MOVED to a single-node client on a cluster node, NOPERM, …) does not,
// or every recovery would send it again, be refused, and degrade the tier at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CleanupQueue } from '../../../src/fleet/cleanups.js';
import { RedisRunner, RedisUnavailable } from '../../../src/fleet/runner.js';
import { GET_OR_LEASE, RELEASE } from '../../../src/fleet/scripts.js';
import { logSink } from '../../helpers/log-sink.js';
import { FakeRedis } from './fake-redis.js';

/** A runner on a fake whose RELEASE and GET_OR_LEASE fail with `reply` until `fix()`. */
function setup(reply: string) {
  const client = new FakeRedis();
  client.know(RELEASE, GET_OR_LEASE);
  let broken = true;
  const answer = (): number => {
    if (broken) throw new Error(reply);
    return 1;
  };
  client.answer(RELEASE, answer);
  client.answer(GET_OR_LEASE, answer);
  let t = 0;
  const runner = new RedisRunner({
    client,
    commandTimeoutMs: 250,
    retryMs: 100,
    log: logSink().logger,
    now: () => t,
  });
  return {
    client,
    runner,
    /** The error the runner gives for a failed step (a lease asked for), once it sends again. */
    stepError: async (): Promise<unknown> => {
      t += 100;
      return runner.run(GET_OR_LEASE, ['entry{u2}', 'lease{u2}', 'marker{u2}'], ['token', '5000', '', '1000']).then(
        () => assert.fail('the step succeeded'),
        (err: unknown) => err,
      );
    },
    queue: new CleanupQueue(runner),
    fix: () => {
      broken = false;
    },
    tick: () => {
      t += 100;
    },
  };
}

/** Lets the fake's replies and the queue's handlers run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

void describe('fleet: the clean-up queue', () => {
  for (const reply of [
    'MOVED 1234 127.0.0.1:7001',
    'NOPERM this user has no permissions to access one of the keys used as arguments',
  ]) {
    void it(`drops a clean-up refused with ${reply.split(' ')[0]!} (no retry that would degrade the tier again)`, async () => {
      const { client, runner, queue, fix, tick, stepError } = setup(reply);
      queue.now(RELEASE, ['lease{u1}'], ['token', '', '', '']);
      await settle();
      assert.equal(runner.degraded, true);
      assert.equal(queue.size, 0, 'not kept');
      // Also when the step it cleans up after was refused the same way.
      const refused = await stepError();
      assert.ok(refused instanceof RedisUnavailable);
      queue.later(RELEASE, ['lease{u2}'], ['token', '', '', ''], refused);
      assert.equal(queue.size, 0);
      fix();
      tick();
      queue.flush();
      await settle();
      assert.equal(client.callsOf(RELEASE).length, 1, 'never sent again');
    });
  }

  void it('keeps a clean-up that failed by an outage (a timeout, a lost connection) and sends it on recovery', async () => {
    const { client, queue, fix, tick, stepError } = setup('Socket closed unexpectedly');
    queue.now(RELEASE, ['lease{u1}'], ['token', '', '', '']);
    await settle();
    assert.equal(queue.size, 1, 'kept');
    queue.later(RELEASE, ['lease{u2}'], ['token', '', '', ''], await stepError());
    assert.equal(queue.size, 2);
    fix();
    tick();
    // The first step sent probes; the other waits for the probe's answer, kept, and goes next.
    queue.flush();
    await settle();
    queue.flush();
    await settle();
    assert.equal(queue.size, 0);
    assert.equal(client.callsOf(RELEASE).length, 3);
  });
});
