import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';

// What the example app keeps in Redis of its own (sessions, bearer tokens) names no user, identity
// or guest in clear, like the broker's shared tier: values are sealed (AES-256-GCM) with keys derived
// from CACHE_ENCRYPTION_KEYS, and a bearer token's Redis key is a keyed hash (HMAC-SHA256 under a key
// derived from SESSION_SECRET), which nobody without the secret can compute or reverse.

const SALT = 'cognito-identity-broker example app';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Seals and opens the example's values in Redis, and names its keys. */
export interface Sealer {
  /** `plaintext` sealed under the current key, bound to `aad` (the value is useless under another). */
  seal(plaintext: string, aad: string): string;
  /** The plaintext, or undefined: unknown key id, altered, or sealed for another `aad`. */
  open(sealed: string, aad: string): string | undefined;
  /** A keyed hash of `value` (base64url): a Redis key that does not reveal it. */
  name(value: string): string;
  /** Values that did not open so far (another instance's keys, or altered). */
  readonly rejected: number;
}

function derive(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, purpose, 32));
}

/**
 * @param keys CACHE_ENCRYPTION_KEYS as the config reads them (`id → base64 of 32 bytes`).
 * @param currentKeyId The key new values are sealed with (required with several keys).
 * @param nameSecret SESSION_SECRET: the same on every instance.
 */
export function createSealer(
  keys: Readonly<Record<string, string>>,
  currentKeyId: string | undefined,
  nameSecret: string,
): Sealer {
  const derived = new Map(
    Object.entries(keys).map(([id, key]) => [id, derive(Buffer.from(key, 'base64'), 'sealed values v1')]),
  );
  const current = currentKeyId ?? [...derived.keys()][0];
  const currentKey = current === undefined ? undefined : derived.get(current);
  if (current === undefined || currentKey === undefined) throw new TypeError('createSealer: no current key');
  const nameKey = derive(Buffer.from(nameSecret, 'utf8'), 'redis key names v1');
  let rejected = 0;
  const reject = (): string | undefined => {
    rejected += 1;
    return undefined;
  };
  return {
    get rejected() {
      return rejected;
    },
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv).setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${current}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(sealed, aad) {
      const [id = '', iv = '', body = '', ...rest] = sealed.split('.');
      const key = derived.get(id);
      const ivBytes = Buffer.from(iv, 'base64url');
      const bytes = Buffer.from(body, 'base64url');
      if (key === undefined || rest.length > 0 || ivBytes.length !== IV_BYTES || bytes.length < TAG_BYTES) {
        return reject();
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes).setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        return reject();
      }
    },
    name(value) {
      return createHmac('sha256', nameKey).update(value, 'utf8').digest('base64url');
    },
  };
}

/** The `serializer` of connect-redis's `RedisStore`: each session sealed, never JSON in clear. */
export interface SessionSerializer {
  parse(text: string): SessionData;
  stringify(session: SessionData): string;
}

/**
 * Seals whole sessions (passport's user id, the guest identity id, the cookie's settings). A value
 * that does not open (another key, altered) reads as no session: the user logs in again.
 */
export function sealedSessions(sealer: Sealer): SessionSerializer {
  const AAD = 'session';
  return {
    stringify(session) {
      return sealer.seal(JSON.stringify(session), AAD);
    },
    parse(text) {
      const plain = sealer.open(text, AAD);
      // connect-redis passes a null session on as "no session" (its type says SessionData only).
      return (plain === undefined ? null : JSON.parse(plain)) as SessionData;
    },
  };
}
