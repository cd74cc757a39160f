// Two users upgrading the same guest identity at the same moment: at most one gets it, never both.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetOpenIdTokenForDeveloperIdentityCommand } from '@aws-sdk/client-cognito-identity';
import { createBroker } from '../../src/broker/create-broker.js';
import type { Broker, IdentityToken } from '../../src/broker/types.js';
import { isBrokerError } from '../../src/errors.js';
import { emulatorClient, withEmulatorBroker } from '../helpers/emulator-sdk.js';

const DEV = 'login.race.app';
const SEED = { seed: [{ name: 'race', developerProviderName: DEV, allowUnauthenticatedIdentities: true }] };

/** Every fulfilled upgrade owns its identity alone; every refused one is ERR_CONFLICT and gets another identity. */
async function assertNoSharedIdentity(
  broker: Broker,
  guestId: string,
  users: readonly string[],
  results: readonly PromiseSettledResult<IdentityToken>[],
): Promise<string[]> {
  const winners: string[] = [];
  for (const [i, r] of results.entries()) {
    const userId = users[i]!;
    if (r.status === 'fulfilled') {
      winners.push(userId);
      assert.equal(r.value.identityId, guestId);
      assert.deepEqual((await broker.lookupUsers(r.value.identityId)).userIds, [userId]);
    } else {
      assert.ok(
        isBrokerError(r.reason) && r.reason.code === 'ERR_CONFLICT' && r.reason.status === 409,
        String(r.reason),
      );
      const own = await broker.getToken(userId);
      assert.notEqual(own.identityId, guestId, 'the refused user gets an identity of its own');
      assert.deepEqual((await broker.lookupUsers(own.identityId)).userIds, [userId]);
    }
  }
  assert.ok(winners.length <= 1, `both users were linked to one guest identity: ${winners.join(', ')}`);
  assert.deepEqual((await broker.lookupUsers(guestId)).userIds, winners);
  return winners;
}

void describe('broker upgradeGuest under concurrency', () => {
  void it('lets exactly one of two concurrent upgrades of one guest win in one broker; the other gets ERR_CONFLICT', () =>
    withEmulatorBroker(SEED, async (broker) => {
      const guest = await broker.getGuestCredentials();
      const users = ['u1', 'u2'];
      const results = await Promise.allSettled(users.map((u) => broker.upgradeGuest(u, guest.identityId)));
      const winners = await assertNoSharedIdentity(broker, guest.identityId, users, results);
      assert.equal(winners.length, 1);
    }));

  void it('checks again that the user is alone on the guest identity when a retried upgrade finds the link already made', () =>
    withEmulatorBroker(SEED, async (broker, emu) => {
      const guest = await broker.getGuestCredentials();
      await broker.upgradeGuest('u1', guest.identityId);
      // u2's link went through but its sole-user check failed (a throttle, a timeout): linked by hand.
      const sdk = emulatorClient(emu);
      try {
        await sdk.send(
          new GetOpenIdTokenForDeveloperIdentityCommand({
            IdentityPoolId: emu.pools[0]!.identityPoolId,
            IdentityId: guest.identityId,
            Logins: { [DEV]: 'u2' },
          }),
        );
      } finally {
        sdk.destroy();
      }
      const retried = await broker.upgradeGuest('u2', guest.identityId).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(isBrokerError(retried) && retried.code === 'ERR_CONFLICT', String(retried));
      assert.deepEqual((await broker.lookupUsers(guest.identityId)).userIds, ['u1']);
      assert.notEqual((await broker.getToken('u2')).identityId, guest.identityId);
    }));

  void it('joins one user’s concurrent upgrades of one guest: one link, the same identity for each', () =>
    withEmulatorBroker(SEED, async (broker, emu) => {
      const guest = await broker.getGuestCredentials();
      emu.resetCounters();
      const results = await Promise.all([1, 2, 3].map(() => broker.upgradeGuest('u1', guest.identityId)));
      for (const r of results) assert.equal(r.identityId, guest.identityId);
      assert.equal(emu.counters().GetOpenIdTokenForDeveloperIdentity, 1, 'one link call');
      assert.deepEqual((await broker.lookupUsers(guest.identityId)).userIds, ['u1']);
    }));

  void it('never links two users to one guest identity when two broker instances upgrade it at once', () =>
    withEmulatorBroker(
      SEED,
      async (first, emu) => {
        const client = emulatorClient(emu);
        try {
          const second = createBroker({
            identityPoolId: emu.pools[0]!.identityPoolId,
            developerProviderName: DEV,
            client,
            quota: false,
          });
          emu.setFault('*', { latencyMs: 20 });
          for (let round = 0; round < 3; round += 1) {
            const guest = await first.getGuestCredentials();
            const users = [`a${round}`, `b${round}`];
            const results = await Promise.allSettled([
              first.upgradeGuest(users[0]!, guest.identityId),
              second.upgradeGuest(users[1]!, guest.identityId),
            ]);
            await assertNoSharedIdentity(first, guest.identityId, users, results);
          }
        } finally {
          client.destroy();
        }
        // The interleaving this test aims at (both past the guest check before either links) needs
        // both brokers' calls at the emulator's pace: the governor's waits on the small lookup bucket
        // would let one link first, and the other then meets a non-guest (ERR_FORBIDDEN).
      },
      { quota: false },
    ));
});
