import { BrokerError } from '../errors.js';

/** Cognito's limit on a `Logins` key. */
const MAX_PROVIDER_LENGTH = 128;

/**
 * Validates an allow-list of public login providers (`graph.facebook.com`, `accounts.google.com`,
 * an OIDC provider name, …).
 * @throws TypeError when it is not an array of provider names.
 */
export function normaliseProviders(list: unknown): ReadonlySet<string> {
  if (!Array.isArray(list)) {
    throw new TypeError(
      'allowedProviders must be an array of provider names, e.g. ["graph.facebook.com"] (use [] for none)',
    );
  }
  const out = new Set<string>();
  for (const p of list as readonly unknown[]) {
    if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PROVIDER_LENGTH || /\s/.test(p)) {
      throw new TypeError('allowedProviders must contain non-empty provider names of at most 128 characters');
    }
    if (p.startsWith('cognito-identity.')) {
      throw new TypeError('allowedProviders must not contain Cognito’s own logins key');
    }
    out.add(p);
  }
  return out;
}

/**
 * Checks that `provider` is on the allow-list.
 * @throws BrokerError `ERR_FORBIDDEN` when it is not.
 */
export function assertAllowedProvider(allowed: ReadonlySet<string>, provider: string): void {
  if (!allowed.has(provider)) {
    throw new BrokerError('ERR_FORBIDDEN', 'This login provider is not allowed.');
  }
}
