import { createHash } from 'node:crypto';
import type { PrincipalTags } from './options.js';

// Keys are per broker, so the pool, provider and role (the same for every entry) are not in them.
// The common key is the id itself, sharing the string the entry holds: one string fewer per cached
// user. Every other key is the JSON of a tuple, which starts with '[', and an id that starts with
// '[' always takes the tuple form: ids containing separators, quotes, unicode or any length cannot
// collide.

/** A hash of a set of principal tags, independent of key order; `''` for none. */
export function tagsHash(tags: PrincipalTags | undefined): string {
  if (tags === undefined) return '';
  const sorted = Object.keys(tags)
    .sort()
    .map((k) => [k, tags[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url');
}

/** The token cache's key of a user with these principal tags. */
export function tokenKey(userId: string, tags: PrincipalTags | undefined): string {
  return tags === undefined && !userId.startsWith('[') ? userId : JSON.stringify([userId, tagsHash(tags)]);
}

/**
 * The credentials cache's key of an identity, guest or not. With the tag hash: credentials carry the
 * token's principal tags as session tags.
 */
export function credentialsKey(identityId: string, guest: boolean, tags: PrincipalTags | undefined): string {
  return !guest && tags === undefined && !identityId.startsWith('[')
    ? identityId
    : JSON.stringify([identityId, guest, tagsHash(tags)]);
}
