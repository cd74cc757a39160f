import type { Request } from 'express';
import { BrokerError } from '../errors.js';

/**
 * Reads the logged-in user's id from a request. Must use what the app's authentication put on the
 * request (`req.user`), never the body, query or headers. Returns null/undefined when nobody is
 * logged in.
 */
export type GetUserId = (req: Request) => string | number | null | undefined;

/** The default {@link GetUserId}: `req.user?.id` (set by passport). */
export const defaultGetUserId: GetUserId = (req) => {
  const user = (req as { user?: unknown }).user;
  if (typeof user !== 'object' || user === null) return undefined;
  const id = (user as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
};

/** Cognito's limit on a developer user identifier. */
const MAX_USER_ID_LENGTH = 1024;

/**
 * The logged-in user's id as a string.
 * @throws BrokerError `ERR_UNAUTHENTICATED` when nobody is logged in.
 */
export function requireUserId(req: Request, getUserId: GetUserId): string {
  const raw = getUserId(req);
  const id = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_USER_ID_LENGTH) {
    throw new BrokerError('ERR_UNAUTHENTICATED', 'Log in first.');
  }
  return id;
}
