// The instance that makes a change keeps nothing in its own cache that the change made stale: a
// request that comes in while the change is being recorded is not served (nor kept) the shared entry
// of before the change.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INVALIDATE } from '../../src/fleet/scripts.js';
import { redisSkipReason } from '../helpers/redis-server.js';
import { startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = redisSkipReason();

void describe('fleet: the maker of a change', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('serves the merged identity to a request made while the merge is being recorded, and after', async () => {
    const healthy = { commandTimeoutMs: 5000 };
    const a = await stack.instance({}, healthy);
    const b = await stack.instance({}, healthy);
    const dest = (await a.broker.getToken('mk-dest')).identityId;
    const src = (await a.broker.getToken('mk-src')).identityId; // shared in Redis
    assert.notEqual(src, dest);
    // A request for the source user on B while B records the merge (during INVALIDATE's round trip).
    const client = b.redis as unknown as { evalSha: (sha: string, o: unknown) => Promise<unknown> };
    const evalSha = client.evalSha.bind(client);
    let during: Promise<string> | undefined;
    client.evalSha = (sha, o) => {
      if (sha === INVALIDATE.sha && during === undefined) {
        during = b.broker.getToken('mk-src').then((t) => t.identityId);
        return during.then(() => evalSha(sha, o));
      }
      return evalSha(sha, o);
    };
    await b.broker.mergeUsers('mk-dest', 'mk-src');
    assert.ok(during !== undefined, 'the request ran during the record');
    assert.equal(await during, dest, 'served the source identity while the merge was recorded');
    assert.equal((await b.broker.getToken('mk-src')).identityId, dest, 'kept the source identity after the merge');
    assert.equal((await a.broker.getToken('mk-src')).identityId, dest);
  });
});
