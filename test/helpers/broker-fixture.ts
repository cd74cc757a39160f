// Builds a broker over the recording fake client, a manual clock and a log capture.
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js';
import { DEV_PROVIDER, FakeCognito, POOL_ID } from './broker-fake-client.js';
import { logSink, type LogSink } from './log-sink.js';
import { ManualClock } from './manual-clock.js';

export interface BrokerFixture {
  readonly broker: Broker;
  readonly fake: FakeCognito;
  readonly clock: ManualClock;
  readonly logs: LogSink;
}

export function brokerFixture(options: Partial<BrokerOptions> = {}): BrokerFixture {
  const clock = new ManualClock();
  const fake = new FakeCognito(clock);
  const logs = logSink();
  const broker = createBroker({
    identityPoolId: POOL_ID,
    developerProviderName: DEV_PROVIDER,
    client: fake.client,
    clock,
    logger: logs.logger,
    ...options,
  });
  return { broker, fake, clock, logs };
}

/** Lets pending promise callbacks and I/O callbacks run (a few macrotask turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolves to 'pending' when `p` has not settled after `settle()`, else to its outcome. */
export async function stateOf(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  p.then(
    () => (state = 'fulfilled'),
    () => (state = 'rejected'),
  );
  await settle();
  return state;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
