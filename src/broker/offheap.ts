import type { CredentialsResponse, IdentityCredentials } from './types.js';

// The broker holds the large secrets of a cached user (the OpenID token, and the credentials with
// their ~1,000-character session token: ~2 KB a user) in buffers outside the JS heap, not as
// strings. V8's minor GC walks every page of the old generation on each scavenge, so its cost
// follows the size of the old heap: with 100,000 users cached as strings, every scavenge took
// ~4× as long as with 1,000 (bench: resident cache). Each value is an ArrayBuffer of its own and of
// exactly its size (no shared 8 KiB pool slab that one live entry would keep alive), kept without a
// Buffer view (a view is another ~100-byte heap object per value; readers make one when they need it).

/** `s` as UTF-8 bytes in an ArrayBuffer of its own, outside the JS heap. */
export function packString(s: string): ArrayBuffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(s, 'utf8'));
  // Every byte is written: the buffer is exactly the string's UTF-8 length.
  bytes.write(s, 'utf8');
  return bytes.buffer;
}

/** The string {@link packString} packed. */
export function unpackString(bytes: ArrayBuffer): string {
  return Buffer.from(bytes).toString('utf8');
}

/** The wire form of credentials ({@link CredentialsResponse}). */
export function credentialsBody(c: IdentityCredentials): CredentialsResponse {
  return {
    identityId: c.identityId,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: new Date(c.expiration).toISOString(),
  };
}

/**
 * Credentials as the broker caches them: the JSON of {@link CredentialsResponse} as UTF-8 bytes,
 * which the credentials route sends as they are (no serialisation per request).
 */
export function packCredentials(c: IdentityCredentials): ArrayBuffer {
  return packString(JSON.stringify(credentialsBody(c)));
}

/** The credentials in `body` (from {@link packCredentials}); `expiration` is kept apart, in epoch ms. */
export function unpackCredentials(body: ArrayBuffer, expiration: number): IdentityCredentials {
  const wire = JSON.parse(unpackString(body)) as CredentialsResponse;
  return Object.freeze({
    identityId: wire.identityId,
    accessKeyId: wire.accessKeyId,
    secretAccessKey: wire.secretAccessKey,
    sessionToken: wire.sessionToken,
    expiration,
  });
}
