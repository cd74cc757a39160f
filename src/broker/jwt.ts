/** The time claims of a JWT, in epoch seconds, when present and numeric. */
export interface JwtTimes {
  /** `exp`, epoch seconds. */
  readonly exp?: number;
  /** `iat`, epoch seconds. */
  readonly iat?: number;
}

/**
 * Reads `exp` and `iat` from a compact JWT's payload **without verifying it**. The broker trusts the
 * token because Cognito just returned it over TLS; it only needs the times. Never throws: a token that
 * is not a readable JWT gives `{}`, and a claim that is not a finite, non-negative number is left out.
 */
export function readJwtTimes(token: string): JwtTimes {
  const parts = token.split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined || payload.length === 0) return {};
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return {};
  }
  if (typeof claims !== 'object' || claims === null) return {};
  const { exp, iat } = claims as { exp?: unknown; iat?: unknown };
  const out: { exp?: number; iat?: number } = {};
  if (isEpochSeconds(exp)) out.exp = exp;
  if (isEpochSeconds(iat)) out.iat = iat;
  return out;
}

function isEpochSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e11;
}
