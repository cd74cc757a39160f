import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/** The issuer of Cognito Identity tokens outside China. */
export const COGNITO_ISSUER = 'https://cognito-identity.amazonaws.com';

/** The issuer of Cognito Identity tokens in AWS GovCloud (US-West), its service principal's. */
const GOV_WEST_ISSUER = 'https://cognito-identity-us-gov.amazonaws.com';

/** The Regions an account must opt in to: Cognito Identity names itself by region there. */
const OPT_IN_REGIONS = new Set([
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
]);

/**
 * The issuer Cognito Identity uses for a region, as the developer guide documents its principal:
 * `https://cognito-identity.amazonaws.com` in the Regions enabled by default,
 * `https://cognito-identity.REGION.amazonaws.com` in opt-in Regions and GovCloud (US-East),
 * `https://cognito-identity-us-gov.amazonaws.com` in GovCloud (US-West), and
 * `https://cognito-identity.REGION.amazonaws.com.cn` in China.
 */
export function cognitoIssuer(region: string): string {
  if (region.startsWith('cn-')) return `https://cognito-identity.${region}.amazonaws.com.cn`;
  if (region === 'us-gov-west-1') return GOV_WEST_ISSUER;
  if (region.startsWith('us-gov-') || OPT_IN_REGIONS.has(region))
    return `https://cognito-identity.${region}.amazonaws.com`;
  return COGNITO_ISSUER;
}

/** The ARN partition of a region: `aws-cn` in China, `aws-us-gov` in GovCloud, else `aws`. */
export function arnPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Whether `iss` is Cognito Identity's issuer in some region (see {@link cognitoIssuer}). */
export function isCognitoIssuer(iss: string): boolean {
  if (iss === COGNITO_ISSUER || iss === GOV_WEST_ISSUER) return true;
  const m = /^https:\/\/cognito-identity\.([a-z0-9-]{1,32})\.amazonaws\.com(?:\.cn)?$/.exec(iss);
  return m !== null && isRegion(m[1]) && cognitoIssuer(m[1]) === iss;
}

/**
 * Outcome of {@link TokenSigner.verify}: `reason` says what failed (for logs and tests, never sent);
 * `signed` is true when the token is a well-formed JWS whose signature failed or whose key is unknown.
 */
export type VerifyResult =
  { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string; signed?: boolean };

/**
 * Outcome of {@link verifyProviderToken}: `message` is the service's NotAuthorizedException message
 * ("Invalid login token. …"); `reason` is the precise cause, never sent to a client.
 */
export type ProviderTokenResult = { ok: true; subject: string } | { ok: false; reason: string; message: string };

/** The service's opening words for every refused login token. */
export const INVALID_LOGIN_TOKEN = 'Invalid login token.';

/**
 * Providers whose real tokens are opaque access tokens, not JWTs: the service checks them with the
 * provider's API, so "not an OpenID Connect token" is not what it says about them.
 */
const OPAQUE_TOKEN_PROVIDERS = new Set(['graph.facebook.com', 'www.amazon.com', 'api.twitter.com', 'www.digits.com']);

/** The service's message for a login token of `provider` that {@link TokenSigner.verify} refused. */
export function refusedTokenMessage(provider: string, v: { signed?: boolean }): string {
  if (v.signed === true || OPAQUE_TOKEN_PROVIDERS.has(provider)) {
    return `${INVALID_LOGIN_TOKEN} Couldn't verify signed token.`;
  }
  return `${INVALID_LOGIN_TOKEN} Not a valid OpenId Connect identity token.`;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** base64url of the JWS header, computed once: it is the same for every token. */
  readonly encodedHeader: string;
  readonly publicJwk: Readonly<Record<string, unknown>>;
}

const RSA_BITS = 2048;
const KID_PATTERN = /^[a-z0-9-]+-[1-9][0-9]*$/;
const B64URL = /^[A-Za-z0-9_-]*$/;
/** Tokens larger than this are refused before any parsing (the real ones are ~1 KB). */
const MAX_TOKEN_LENGTH = 16_384;

/** `us-east-1`, `us-gov-west-1`, `cn-north-1`, … (split, not one regex, to keep it linear). */
export function isRegion(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 32) return false;
  const parts = v.split('-');
  const last = parts.pop() ?? '';
  return (
    parts.length >= 2 &&
    /^[a-z]{2}$/.test(parts[0] ?? '') &&
    parts.slice(1).every((p) => /^[a-z]{1,12}$/.test(p)) &&
    /^[0-9]{1,2}$/.test(last)
  );
}

/** Whether the key really signs what its public half verifies (a JWK with mismatched parts imports fine). */
function signsConsistently(key: SigningKey): boolean {
  try {
    const probe = Buffer.from('probe');
    return cryptoVerify('sha512', probe, key.publicKey, cryptoSign('sha512', probe, key.privateKey));
  } catch {
    return false;
  }
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function makeKey(kid: string, privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    kid,
    privateKey,
    publicKey,
    encodedHeader: b64url(JSON.stringify({ kid, typ: 'JWS', alg: 'RS512' })),
    publicJwk: Object.freeze({ kty: 'RSA', kid, alg: 'RS512', use: 'sig', n: jwk.n, e: jwk.e }),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Signs and verifies the emulator's RS512 JWTs (OpenID tokens and emulator-issued provider tokens)
 * with the header the real service uses: `{"kid":"<region>-<n>","typ":"JWS","alg":"RS512"}`.
 *
 * Keys are RSA 2048. The newest key signs; every key verifies and is listed in {@link jwks}.
 * Signing and verification are synchronous (node:crypto), since they sit on the emulator's hot path.
 */
export class TokenSigner {
  readonly region: string;
  readonly #keys: SigningKey[];
  readonly #byKid: Map<string, SigningKey>;

  private constructor(region: string, keys: SigningKey[]) {
    this.region = region;
    this.#keys = keys;
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
  }

  /**
   * Generates a fresh RSA 2048 key with kid `<region>-1`.
   * @throws TypeError when `region` does not look like an AWS region.
   */
  static async create(region: string): Promise<TokenSigner> {
    if (!isRegion(region)) {
      throw new TypeError(`TokenSigner: region must look like us-east-1, got ${JSON.stringify(region)}`);
    }
    const privateKey = await generatePrivateKey();
    return new TokenSigner(region, [makeKey(`${region}-1`, privateKey)]);
  }

  /**
   * Restores a signer saved with {@link toJSON}.
   * @throws Error naming the problem when `data` is not a saved signer (wrong shape, bad key, duplicate kid).
   */
  static fromJSON(data: unknown): TokenSigner {
    const fail = (problem: string): never => {
      throw new Error(`TokenSigner.fromJSON: ${problem}`);
    };
    if (!isRecord(data)) return fail('expected an object with region and keys');
    const { region, keys } = data;
    if (!isRegion(region)) return fail('region is missing or malformed');
    if (!Array.isArray(keys) || keys.length === 0) return fail('keys must be a non-empty array');
    const restored: SigningKey[] = [];
    const seen = new Set<string>();
    keys.forEach((entry: unknown, i) => {
      if (!isRecord(entry)) return fail(`keys[${i}] is not an object`);
      const { kid, jwk } = entry;
      if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) return fail(`keys[${i}].kid is missing or malformed`);
      if (seen.has(kid)) return fail(`duplicate kid ${kid}`);
      seen.add(kid);
      if (!isRecord(jwk) || jwk.kty !== 'RSA' || typeof jwk.d !== 'string') {
        return fail(`keys[${i}].jwk must be a private RSA JWK`);
      }
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
      } catch (err) {
        return fail(`keys[${i}].jwk is not a usable RSA private key (${(err as Error).message})`);
      }
      const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
      if (privateKey.asymmetricKeyType !== 'rsa' || bits < RSA_BITS) {
        return fail(`keys[${i}].jwk must be an RSA key of at least ${RSA_BITS} bits`);
      }
      const key = makeKey(kid, privateKey);
      if (!signsConsistently(key))
        return fail(`keys[${i}].jwk is not a usable RSA private key (its parts do not match)`);
      restored.push(key);
    });
    return new TokenSigner(region, restored);
  }

  /** The kid of the key that signs new tokens. */
  get currentKid(): string {
    return this.#current().kid;
  }

  /**
   * Adds a new signing key `<region>-<n+1>`; older keys keep verifying and stay in the JWKS.
   * Returns the new kid.
   */
  async rotate(): Promise<string> {
    const n = Math.max(...this.#keys.map((k) => Number(k.kid.slice(k.kid.lastIndexOf('-') + 1)))) + 1;
    const key = makeKey(`${this.region}-${n}`, await generatePrivateKey());
    this.#keys.push(key);
    this.#byKid.set(key.kid, key);
    return key.kid;
  }

  /** The signer as plain JSON (private keys as JWK) for the state file. Keep that file private. */
  toJSON(): unknown {
    return {
      region: this.region,
      keys: this.#keys.map((k) => ({ kid: k.kid, jwk: k.privateKey.export({ format: 'jwk' }) })),
    };
  }

  /**
   * Signs `claims` as an RS512 JWT with the current key. `options.issuer` sets `iss`; without it,
   * `claims.iss` is kept, or the Cognito issuer for the region is used.
   */
  sign(claims: Record<string, unknown>, options?: { issuer?: string }): string {
    const key = this.#current();
    const iss = options?.issuer ?? (typeof claims.iss === 'string' ? claims.iss : cognitoIssuer(this.region));
    const payload = b64url(JSON.stringify({ ...claims, iss }));
    const input = `${key.encodedHeader}.${payload}`;
    const signature = cryptoSign('sha512', Buffer.from(input), key.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }

  /**
   * Checks a token's structure, header (`alg` RS512, a known `kid`) and signature. It does not check
   * claims (expiry, audience, issuer): callers do. Never throws.
   */
  verify(token: string): VerifyResult {
    try {
      if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'token is empty' };
      if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token is too long' };
      const parts = token.split('.');
      if (parts.length !== 3) return { ok: false, reason: 'token is not a JWS compact serialization' };
      const [h, p, s] = parts as [string, string, string];
      if (!h || !p || !s || !B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) {
        return { ok: false, reason: 'token is not base64url' };
      }
      const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      if (!isRecord(header)) return { ok: false, reason: 'token header is not a JSON object' };
      if (header.alg !== 'RS512') return { ok: false, reason: 'token alg is not RS512' };
      if (typeof header.kid !== 'string') return { ok: false, reason: 'token has no kid' };
      const key = this.#byKid.get(header.kid);
      if (!key) return { ok: false, reason: 'token kid is unknown', signed: true };
      const valid = cryptoVerify('sha512', Buffer.from(`${h}.${p}`), key.publicKey, Buffer.from(s, 'base64url'));
      if (!valid) return { ok: false, reason: 'token signature is invalid', signed: true };
      const claims: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      if (!isRecord(claims)) return { ok: false, reason: 'token payload is not a JSON object' };
      return { ok: true, claims };
    } catch {
      return { ok: false, reason: 'token is malformed' };
    }
  }

  /** The public keys, as served at `/.well-known/jwks_uri`. */
  jwks(): { keys: object[] } {
    return { keys: this.#keys.map((k) => ({ ...k.publicJwk })) };
  }

  #current(): SigningKey {
    // The constructor is private and always gets at least one key.
    return this.#keys[this.#keys.length - 1] as SigningKey;
  }
}

function generatePrivateKey(): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 }, (err, _pub, priv) => {
      if (err) reject(err);
      else resolve(priv);
    });
  });
}

/** Claim that marks emulator-issued provider tokens, so they are never confused with OpenID tokens. */
const PROVIDER_TOKEN_USE = 'emulator-provider';

/**
 * Mints a token for a public login provider (`graph.facebook.com`, `accounts.google.com`, …) that
 * only this emulator can issue: `iss` = provider, `aud` = the app id the pool configured for it,
 * `sub` = the provider's user id, `iat`/`exp` in epoch seconds.
 * @throws TypeError on an empty provider, subject or audience, or a non-positive lifetime.
 */
export function mintProviderToken(
  signer: TokenSigner,
  provider: string,
  subject: string,
  audience: string,
  expiresInSeconds: number,
  nowMs: number,
): string {
  for (const [name, v] of [
    ['provider', provider],
    ['subject', subject],
    ['audience', audience],
  ] as const) {
    if (typeof v !== 'string' || v.length === 0)
      throw new TypeError(`mintProviderToken: ${name} must be a non-empty string`);
  }
  if (!Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
    throw new TypeError('mintProviderToken: expiresInSeconds must be a positive number');
  }
  const iat = Math.floor(nowMs / 1000);
  return signer.sign(
    { sub: subject, aud: audience, iat, exp: iat + Math.floor(expiresInSeconds), token_use: PROVIDER_TOKEN_USE },
    { issuer: provider },
  );
}

/**
 * Accepts a provider token only when this emulator minted it for `provider` and `audience` and it
 * has not expired at `nowMs`; refuses anything else (a real provider's token included) with the
 * service's words. Never throws.
 */
export function verifyProviderToken(
  signer: TokenSigner,
  token: string,
  provider: string,
  audience: string,
  nowMs: number,
): ProviderTokenResult {
  const v = signer.verify(token);
  if (!v.ok) return { ok: false, reason: v.reason, message: refusedTokenMessage(provider, v) };
  const { claims } = v;
  const refuse = (reason: string, words: string): ProviderTokenResult => ({
    ok: false,
    reason,
    message: `${INVALID_LOGIN_TOKEN} ${words}`,
  });
  if (claims.token_use !== PROVIDER_TOKEN_USE) return refuse('not a provider token', "Couldn't verify signed token.");
  if (claims.iss !== provider)
    return refuse('token was issued for another provider', "Issuer doesn't match providerName");
  if (claims.aud !== audience) return refuse('token audience does not match the app id', 'Incorrect token audience.');
  const nowSec = Math.floor(nowMs / 1000);
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) {
    return refuse('token is expired', `Token expired: ${String(nowSec)} >= ${String(claims.exp)}`);
  }
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) {
    return refuse('token has no subject', 'Missing a required claim: sub');
  }
  return { ok: true, subject: claims.sub };
}
