import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Temporary credentials as STS shapes them. */
export interface IssuedCredentials {
  readonly AccessKeyId: string;
  readonly SecretKey: string;
  readonly SessionToken: string;
  /** Epoch seconds. */
  readonly Expiration: number;
}

/** What the emulator's session token carries (readable with {@link describeSessionToken}). */
export interface SessionTokenInfo {
  readonly roleArn: string;
  readonly identityId: string;
  /** Epoch seconds. */
  readonly expiration: number;
}

/** What a set of minted credentials stands for: the assumed role session. */
export interface CredentialRecord {
  readonly accessKeyId: string;
  /** The role assumed, `arn:aws:iam::ACCOUNT:role/…`. */
  readonly roleArn: string;
  /** The role session name (`CognitoIdentityCredentials` for GetCredentialsForIdentity). */
  readonly sessionName: string;
  /** The Cognito identity id the credentials were issued for. */
  readonly identityId: string;
  /** Epoch seconds. */
  readonly expiration: number;
}

/** What {@link CredentialIssuer.issue} needs. */
export interface CredentialRequest {
  readonly roleArn: string;
  readonly identityId: string;
  readonly sessionName: string;
  readonly durationSeconds: number;
}

const MARKER = 'cie1';
/** The token's head: a MAC over the rest, then random bytes (300 bytes = exactly 400 base64 chars). */
const HEAD_BYTES = 300;
const HEAD_CHARS = 400;
const MAC_BYTES = 32;
/** Longer session tokens are refused before any decoding (ours are ~700 chars). */
const MAX_TOKEN_CHARS = 8192;
const KEY_BYTES = 32;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Mints temporary credentials shaped like STS's and recognises them again when they sign a request.
 *
 * Nothing is stored per credential: the session token carries the session (role, identity, session
 * name, expiration, access key id) under an HMAC of the issuer's key, and the secret key is derived
 * from that MAC. Memory stays constant however many credentials are minted, no valid credential is
 * ever evicted, and credentials survive a restart whenever the key does (it is kept in the state
 * file). Only a holder of the session token can have its request recognised, and the secret never
 * leaves the response that carries it.
 */
export class CredentialIssuer {
  readonly #key: Buffer;

  /** @param key 32 bytes; default: fresh random bytes. */
  constructor(key: Buffer = randomBytes(KEY_BYTES)) {
    if (key.length !== KEY_BYTES) throw new TypeError(`CredentialIssuer: key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  /**
   * Restores an issuer saved with {@link toJSON}.
   * @throws Error when `data` is not a saved issuer.
   */
  static fromJSON(data: unknown): CredentialIssuer {
    if (!isRecord(data) || typeof data.key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(data.key)) {
      throw new Error('CredentialIssuer.fromJSON: expected {"key": <32 bytes in base64>}');
    }
    return new CredentialIssuer(Buffer.from(data.key, 'base64'));
  }

  /** The issuer's key as plain JSON for the state file. Keep that file private. */
  toJSON(): unknown {
    return { key: this.#key.toString('base64') };
  }

  /**
   * Issues credentials for a role session, lasting `durationSeconds` from `nowMs`: a 20-character
   * `ASIA…` key id, a 40-character secret, and a session token that embeds the session.
   */
  issue(request: CredentialRequest, nowMs: number): IssuedCredentials {
    const expiration = Math.floor(nowMs / 1000) + request.durationSeconds;
    const rnd = randomBytes(16 + HEAD_BYTES - MAC_BYTES);
    let keyId = 'ASIA';
    for (let i = 0; i < 16; i++) keyId += BASE32.charAt((rnd[i] ?? 0) & 31);
    const filler = rnd.subarray(16);
    const info = Buffer.concat([
      Buffer.from([0]),
      Buffer.from(
        JSON.stringify({
          m: MARKER,
          r: request.roleArn,
          i: request.identityId,
          x: expiration,
          k: keyId,
          n: request.sessionName,
        }),
      ),
    ]);
    const mac = this.#mac(filler, info);
    const token = `${Buffer.concat([mac, filler]).toString('base64')}${info.toString('base64')}`;
    return { AccessKeyId: keyId, SecretKey: this.#secret(mac), SessionToken: token, Expiration: expiration };
  }

  /**
   * The session and secret key of credentials this issuer minted, when `accessKeyId` and
   * `sessionToken` belong together; undefined for anything else (unknown key, missing, altered or
   * foreign token). Expiry is the caller's to check. Never throws.
   */
  resolve(
    accessKeyId: string,
    sessionToken: string | undefined,
  ): { record: CredentialRecord; secretAccessKey: string } | undefined {
    if (sessionToken === undefined || sessionToken.length <= HEAD_CHARS || sessionToken.length > MAX_TOKEN_CHARS) {
      return undefined;
    }
    const head = Buffer.from(sessionToken.slice(0, HEAD_CHARS), 'base64');
    if (head.length !== HEAD_BYTES) return undefined;
    const mac = head.subarray(0, MAC_BYTES);
    const info = Buffer.from(sessionToken.slice(HEAD_CHARS), 'base64');
    const expected = this.#mac(head.subarray(MAC_BYTES), info);
    if (!timingSafeEqual(mac, expected)) return undefined;
    const parsed = parseInfo(info);
    if (parsed === undefined || parsed.k !== accessKeyId) return undefined;
    return {
      record: {
        accessKeyId,
        roleArn: parsed.r,
        sessionName: parsed.n,
        identityId: parsed.i,
        expiration: parsed.x,
      },
      secretAccessKey: this.#secret(mac),
    };
  }

  #mac(filler: Buffer, info: Buffer): Buffer {
    return createHmac('sha256', this.#key).update('token\0').update(filler).update(info).digest();
  }

  #secret(mac: Buffer): string {
    return createHmac('sha256', this.#key).update('secret\0').update(mac).digest().subarray(0, 30).toString('base64');
  }
}

interface RawInfo {
  m: string;
  r: string;
  i: string;
  x: number;
  k?: string;
  n?: string;
}

function parseInfo(raw: Buffer): (RawInfo & { k: string; n: string }) | undefined {
  const v = parseRaw(raw);
  if (v === undefined || typeof v.k !== 'string' || typeof v.n !== 'string') return undefined;
  return { ...v, k: v.k, n: v.n };
}

function parseRaw(raw: Buffer): RawInfo | undefined {
  try {
    if (raw[0] !== 0) return undefined;
    const v: unknown = JSON.parse(raw.subarray(1).toString('utf8'));
    if (!isRecord(v) || v.m !== MARKER || typeof v.r !== 'string' || typeof v.i !== 'string' || typeof v.x !== 'number')
      return undefined;
    return v as unknown as RawInfo;
  } catch {
    return undefined;
  }
}

/**
 * Reads the role and identity an emulator session token was issued for (tests use it to check role
 * resolution). Returns undefined for any other string. It does not authenticate the token: the
 * emulator's STS does that when the credentials sign a request.
 */
export function describeSessionToken(sessionToken: string): SessionTokenInfo | undefined {
  if (sessionToken.length <= HEAD_CHARS || sessionToken.length > MAX_TOKEN_CHARS) return undefined;
  const v = parseRaw(Buffer.from(sessionToken.slice(HEAD_CHARS), 'base64'));
  return v === undefined ? undefined : { roleArn: v.r, identityId: v.i, expiration: v.x };
}
