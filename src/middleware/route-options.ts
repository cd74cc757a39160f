import type { Broker, Clock } from '../broker/index.js';
import type { GetUserId } from './user-id.js';

/** Options shared by the route factories. */
export interface RouteOptions {
  /** The broker the route talks to. */
  readonly broker: Broker;
  /** Reads the logged-in user's id. Default: `req.user?.id`. */
  readonly getUserId?: GetUserId;
  /** Clock for `expiresIn`. Default `Date`. */
  readonly clock?: Clock;
}

const BROKER_METHODS = [
  'getToken',
  'getCredentials',
  'linkLogin',
  'unlinkLogin',
  'mergeUsers',
  'describeIdentity',
  'getGuestCredentials',
  'upgradeGuest',
  'forgetUser',
] as const;

/**
 * Checks that `broker` looks like a {@link Broker}.
 * @throws TypeError when it does not.
 */
export function assertBroker(broker: unknown): asserts broker is Broker {
  if (typeof broker !== 'object' || broker === null) throw new TypeError('broker is required (from createBroker())');
  for (const m of BROKER_METHODS) {
    if (typeof (broker as Record<string, unknown>)[m] !== 'function') {
      throw new TypeError(`broker.${m} must be a function; pass the object createBroker() returns`);
    }
  }
}

/** Checks an optional function option. @throws TypeError */
export function assertOptionalFunction(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function`);
}

/** Validates the shared route options. @throws TypeError */
export function assertRouteOptions(options: unknown): asserts options is RouteOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
  const o = options as Record<string, unknown>;
  assertBroker(o.broker);
  assertOptionalFunction(o.getUserId, 'getUserId');
  if (o.clock !== undefined && typeof (o.clock as { now?: unknown }).now !== 'function') {
    throw new TypeError('clock must have a now() method');
  }
}
