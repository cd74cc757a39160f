import type { TokenSigner } from '../tokens.js';
import { epochSeconds, type Identity, type Pool } from './records.js';

/** The default TokenDuration of GetOpenIdTokenForDeveloperIdentity. */
export const DEFAULT_TOKEN_SECONDS = 900;
/** The lifetime of GetOpenIdToken's tokens: the model documents ten minutes. */
export const OPEN_ID_TOKEN_SECONDS = 600;
/** Most tokens kept for reuse within one second. */
const TOKEN_CACHE_MAX = 10_000;
/** The claim that carries principal tags. */
export const TAGS_CLAIM = 'https://aws.amazon.com/tags';
/** The claim that carries the pool's ARN, as the service's tokens do. */
export const POOL_ARN_CLAIM = 'https://cognito-identity.amazonaws.com/identity-pool-arn';

/**
 * Signs the OpenID tokens of identities (GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity).
 *
 * Tokens signed during the current second are kept by claims: RS512 (PKCS#1 v1.5) signatures are
 * deterministic, so the same claims give the same token, and reusing it changes nothing on the wire
 * while it saves the RSA signature on repeated calls for one user.
 */
export class OpenIdTokenSigner {
  readonly #signer: TokenSigner;
  readonly #issuer: string;
  readonly #region: string;
  readonly #now: () => number;
  readonly #poolArn: (poolId: string) => string;
  #cache = new Map<string, string>();
  #cacheSecond = -1;

  constructor(
    signer: TokenSigner,
    issuer: string,
    region: string,
    now: () => number,
    poolArn: (poolId: string) => string,
  ) {
    this.#signer = signer;
    this.#issuer = issuer;
    this.#region = region;
    this.#now = now;
    this.#poolArn = poolArn;
  }

  /** The `amr` entry naming one user of a provider: `provider:region:poolGuid:userId`. */
  amrEntry(pool: Pool, provider: string, userId: string): string {
    const guid = pool.id.slice(pool.id.indexOf(':') + 1);
    return `${provider}:${this.#region}:${guid}:${userId}`;
  }

  /** A token for `ident` with these `amr` values, lasting `durationSeconds`, with optional principal tags. */
  sign(
    pool: Pool,
    ident: Identity,
    amr: string[],
    durationSeconds: number,
    principalTags?: Record<string, string>,
  ): string {
    const iat = epochSeconds(this.#now());
    const claims: Record<string, unknown> = {
      sub: ident.id,
      aud: pool.id,
      amr,
      iss: this.#issuer,
      [POOL_ARN_CLAIM]: this.#poolArn(pool.id),
      exp: iat + durationSeconds,
      iat,
    };
    if (principalTags !== undefined && Object.keys(principalTags).length > 0) {
      const tags: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(principalTags)) tags[k] = [v];
      claims[TAGS_CLAIM] = { principal_tags: tags };
    }
    if (iat !== this.#cacheSecond || this.#cache.size >= TOKEN_CACHE_MAX) {
      this.#cache = new Map();
      this.#cacheSecond = iat;
    }
    const key = JSON.stringify(claims);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const signed = this.#signer.sign(claims, { issuer: this.#issuer });
    this.#cache.set(key, signed);
    return signed;
  }
}
