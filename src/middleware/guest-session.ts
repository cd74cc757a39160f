import type { Request } from 'express';
import type { Broker } from '../broker/index.js';
import { isBrokerError } from '../errors.js';

/** The session key under which the guest identity id is kept for cookie clients. */
export const GUEST_SESSION_KEY = 'cognitoGuestIdentityId';

/** Cognito's pattern and length for an identity id. */
const IDENTITY_ID = /^[\w-]+:[0-9a-f-]+$/;

/** True when `value` has the shape of a Cognito identity id. */
export function isIdentityId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 55 && IDENTITY_ID.test(value);
}

type SessionLike = Record<string, unknown>;

function sessionOf(req: Request): SessionLike | undefined {
  const s = (req as { session?: unknown }).session;
  return typeof s === 'object' && s !== null ? (s as SessionLike) : undefined;
}

/** The guest identity id kept in the request's session, if there is a session and one. */
export function readGuestId(req: Request): string | undefined {
  const v = sessionOf(req)?.[GUEST_SESSION_KEY];
  return isIdentityId(v) ? v : undefined;
}

/** Keeps the guest identity id in the session; returns false when the request has no session. */
export function writeGuestId(req: Request, identityId: string): boolean {
  const s = sessionOf(req);
  if (s === undefined) return false;
  s[GUEST_SESSION_KEY] = identityId;
  return true;
}

/** Removes the guest identity id from the session. */
export function clearGuestId(req: Request): void {
  const s = sessionOf(req);
  if (s !== undefined) Reflect.deleteProperty(s, GUEST_SESSION_KEY);
}

/** Broker error codes after which a guest identity id can never be used again by this session. */
const PERMANENT_GUEST_FAILURES: ReadonlySet<string> = new Set([
  'ERR_FORBIDDEN', // no longer a guest: upgraded by someone else, or has logins
  'ERR_CONFLICT',
  'ERR_NOT_FOUND', // deleted
  'ERR_BAD_REQUEST', // not a valid identity id for this pool
  'ERR_IDENTITY_DISABLED',
]);

/**
 * True when `err` says the guest identity itself is unusable for good (not a guest any more,
 * deleted, invalid), as opposed to a temporary failure (throttling, timeout, Cognito down) after
 * which the same guest id should be tried again.
 */
export function isPermanentGuestFailure(err: unknown): boolean {
  return isBrokerError(err) && PERMANENT_GUEST_FAILURES.has(err.code);
}

/**
 * Finishes a guest upgrade left pending in the session: after a temporary failure at login
 * (`afterLogin` keeps the guest id then), the logged-in user's next request upgrades the
 * guest before anything resolves the user's identity, since resolving it first would give the user
 * a new identity and orphan the guest. The guest id leaves the session once the upgrade succeeded
 * or failed for good; after another temporary failure it stays and the error is thrown, so that
 * the request fails (503 with `Retry-After`) rather than create a second identity while the
 * upgrade can still succeed. Does nothing when the session holds no guest id.
 * @throws BrokerError the upgrade's temporary failure (throttling, timeout, Cognito down).
 */
export async function upgradePendingGuest(broker: Broker, req: Request, userId: string): Promise<void> {
  const guestId = readGuestId(req);
  if (guestId === undefined) return;
  try {
    await broker.upgradeGuest(userId, guestId);
  } catch (err) {
    if (!isPermanentGuestFailure(err)) throw err;
  }
  clearGuestId(req);
}
