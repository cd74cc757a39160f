import type { Logger } from 'pino';
import type { FleetRedisSubscriber, PublishMode } from './runner.js';

/** What {@link subscribeToChanges} needs. */
export interface ChangeSubscriptionOptions {
  readonly subscriber: FleetRedisSubscriber;
  /** `'s'` on a cluster: the channel is sharded (SSUBSCRIBE); `''`: classic SUBSCRIBE. */
  readonly publishMode: PublishMode;
  readonly channel: string;
  readonly log: Logger;
  /** Whether the feed has stopped (checked after each step of the connection). */
  readonly closed: () => boolean;
  readonly onMessage: (message: string) => void;
}

/**
 * Connects the feed's subscriber and listens on its channel. A failure is said once (the periodic
 * check stands in). Stopped while connecting: the subscriber is destroyed once connected, since the
 * tier's destroy() may have come before the connection (a cluster's, to nodes found meanwhile),
 * which would then keep the process alive.
 */
export async function subscribeToChanges(o: ChangeSubscriptionOptions): Promise<void> {
  const drop = (): void => {
    try {
      o.subscriber.destroy();
    } catch {
      // Already closed.
    }
  };
  try {
    await o.subscriber.connect();
    if (o.closed()) {
      drop();
      return;
    }
    if (o.publishMode === 's') {
      // A cluster: the channel is sharded (in the feed's slot); the client follows it across
      // resharding and failover.
      if (o.subscriber.sSubscribe === undefined) throw new Error('the cluster client cannot SSUBSCRIBE');
      await o.subscriber.sSubscribe(o.channel, o.onMessage);
    } else {
      await o.subscriber.subscribe(o.channel, o.onMessage);
    }
    if (o.closed()) drop();
  } catch (err) {
    if (o.closed()) {
      drop();
      return;
    }
    o.log.warn(
      { err: err instanceof Error ? err.message : 'unknown' },
      'fleet: cannot subscribe to changes; the periodic check stands in',
    );
  }
}
