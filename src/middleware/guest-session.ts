import type { Request } from 'express';
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
