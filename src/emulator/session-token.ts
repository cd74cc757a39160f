import { randomBytes } from 'node:crypto';

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

const MARKER = 'cie1';

/**
 * Issues credentials shaped like STS's: a 20-character `ASIA…` key id, a 40-character secret and a
 * long base64 session token that embeds the assumed role (see {@link describeSessionToken}), expiring
 * one hour after `nowMs`.
 */
export function issueCredentials(roleArn: string, identityId: string, nowMs: number): IssuedCredentials {
  const expiration = Math.floor(nowMs / 1000) + 3600;
  const rnd = randomBytes(16 + 30 + 300);
  let keyId = 'ASIA';
  for (let i = 0; i < 16; i++) keyId += BASE32.charAt((rnd[i] ?? 0) & 31);
  const secret = rnd.subarray(16, 46).toString('base64');
  const info = Buffer.from(JSON.stringify({ m: MARKER, r: roleArn, i: identityId, x: expiration }));
  const token = `${rnd.subarray(46).toString('base64')}${Buffer.concat([Buffer.from([0]), info]).toString('base64')}`;
  return { AccessKeyId: keyId, SecretKey: secret, SessionToken: token, Expiration: expiration };
}

/**
 * Reads the role and identity an emulator session token was issued for (tests use it to check role
 * resolution). Returns undefined for any other string.
 */
export function describeSessionToken(sessionToken: string): SessionTokenInfo | undefined {
  // The random prefix is 300 bytes = exactly 400 base64 chars, so the info part starts at 400.
  if (sessionToken.length <= 400) return undefined;
  try {
    const raw = Buffer.from(sessionToken.slice(400), 'base64');
    if (raw[0] !== 0) return undefined;
    const v = JSON.parse(raw.subarray(1).toString('utf8')) as Record<string, unknown>;
    if (v.m !== MARKER || typeof v.r !== 'string' || typeof v.i !== 'string' || typeof v.x !== 'number')
      return undefined;
    return { roleArn: v.r, identityId: v.i, expiration: v.x };
  } catch {
    return undefined;
  }
}
