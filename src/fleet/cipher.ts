import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/** Key ids: short, and free of the `.` that separates the parts of a sealed value. */
const KEY_ID = /^[\w-]{1,32}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for the fleet tier's entries: a fresh 96-bit IV per value, the entry's identity (its
 * cache key) as additional authenticated data, so a value copied to another key fails to open, and
 * the key id in each value, so keys can be rotated (values under an old key still open while that
 * key is configured). A value is `keyId.iv.ciphertext.tag`, base64url parts.
 */
export class EntryCipher {
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #currentId: string;
  readonly #current: KeyObject;

  /** @throws TypeError on a key that is not 32 bytes, a bad key id, or a `currentKeyId` not among them. */
  constructor(keys: Readonly<Record<string, string | Uint8Array>>, currentKeyId: string | undefined) {
    const map = new Map<string, KeyObject>();
    const given: unknown = keys;
    if (typeof given !== 'object' || given === null) fail('encryptionKeys must be an object { keyId: key }');
    for (const [id, raw] of Object.entries(keys)) {
      if (!KEY_ID.test(id)) fail(`encryption key id ${JSON.stringify(id)} must be 1–32 characters of [A-Za-z0-9_-]`);
      map.set(id, createSecretKey(keyBytes(id, raw)));
    }
    if (map.size === 0) fail('encryptionKeys must hold at least one key (32 bytes, e.g. base64 of `openssl rand 32`)');
    const currentId = currentKeyId ?? (map.size === 1 ? [...map.keys()][0] : undefined);
    if (currentId === undefined) fail('currentKeyId is required when encryptionKeys holds more than one key');
    const current = map.get(currentId);
    if (current === undefined) fail(`currentKeyId ${JSON.stringify(currentId)} is not a key of encryptionKeys`);
    this.#keys = map;
    this.#currentId = currentId;
    this.#current = current;
  }

  /**
   * A 32-byte key for another use than sealing (`purpose`, e.g. naming keys), derived with HKDF-SHA256
   * from the key whose id sorts first: the same on every instance whatever its `currentKeyId`, and
   * unrelated to the sealing key (knowing one tells nothing of the other).
   */
  derive(purpose: string): Buffer {
    const [first] = [...this.#keys.keys()].sort();
    const key = this.#keys.get(first ?? '');
    if (key === undefined) throw new Error('EntryCipher: no key');
    return Buffer.from(hkdfSync('sha256', key.export(), 'cognito-identity-broker/fleet', purpose, 32));
  }

  /** `plaintext` sealed under the current key, bound to `aad`. */
  seal(aad: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${this.#currentId}.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  /** The plaintext of a sealed value, or `undefined` (unknown key id, altered, or sealed for another `aad`). */
  open(aad: string, sealed: string): string | undefined {
    const parts = sealed.split('.');
    if (parts.length !== 4) return undefined;
    const [id = '', ivText = '', bodyText = '', tagText = ''] = parts;
    const key = this.#keys.get(id);
    if (key === undefined) return undefined;
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(bodyText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

function keyBytes(id: string, raw: string | Uint8Array): Buffer {
  let bytes: Buffer;
  if (typeof raw === 'string') {
    // Canonical base64 only: a hex string or a passphrase given by mistake must not pass as a key.
    bytes = Buffer.from(raw, 'base64');
    if (bytes.toString('base64') !== raw) fail(`encryption key ${JSON.stringify(id)} must be base64 of 32 bytes`);
  } else if (raw instanceof Uint8Array) {
    bytes = Buffer.from(raw);
  } else {
    fail(`encryption key ${JSON.stringify(id)} must be a base64 string or a Uint8Array of 32 bytes`);
  }
  if (bytes.length !== 32) fail(`encryption key ${JSON.stringify(id)} must be 32 bytes (AES-256), not ${bytes.length}`);
  return bytes;
}

function fail(message: string): never {
  throw new TypeError(`redisFleet: ${message}`);
}
