import type { Request, RequestHandler } from 'express';
import { BrokerError } from '../errors.js';

/** Options of {@link sameOriginOnly}. */
export interface SameOriginOptions {
  /**
   * Origins (`https://app.example.com`, scheme + host + port) allowed to send state-changing
   * requests besides the request's own host. Default: none.
   */
  readonly trustedOrigins?: readonly string[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Validates and normalises a list of trusted origins; throws a `TypeError` on a malformed one. */
export function normaliseOrigins(origins: readonly string[] | undefined, name = 'trustedOrigins'): ReadonlySet<string> {
  if (origins === undefined) return new Set();
  if (!Array.isArray(origins)) throw new TypeError(`${name} must be an array of origins`);
  const out = new Set<string>();
  for (const o of origins as readonly unknown[]) {
    if (typeof o !== 'string') throw new TypeError(`${name} must contain origin strings`);
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new TypeError(`${name} contains an invalid origin: ${o}`);
    }
    if (url.origin === 'null' || url.origin !== o.replace(/\/$/, '')) {
      throw new TypeError(`${name} entries must be bare origins like https://app.example.com: ${o}`);
    }
    out.add(url.origin);
  }
  return out;
}

function firstHeader(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Decides whether a state-changing request is cross-site. Whether or not it carries a cookie: a
 * browser with no session yet is exactly the victim of login CSRF (a cross-site form logging it
 * into the attacker's account). Only a request with an `Authorization` header and no cookie is
 * exempt (a bearer client, not a browser sending ambient credentials; a cross-site page cannot set
 * that header without a CORS preflight). A browser's `Sec-Fetch-Site` decides when present;
 * otherwise the `Origin` header must name the request's own host or a trusted origin. Non-browser
 * clients that send neither header (curl, mobile apps) pass.
 */
export function isCrossSiteRequest(req: Request, trusted: ReadonlySet<string>): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  if (firstHeader(req, 'authorization') !== undefined && firstHeader(req, 'cookie') === undefined) return false;
  const origin = firstHeader(req, 'origin');
  const site = firstHeader(req, 'sec-fetch-site');
  if (origin !== undefined && trusted.has(origin)) return false;
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return true;
  }
  return host !== firstHeader(req, 'host');
}

/**
 * Refuses cross-site state-changing requests with 403 `ERR_FORBIDDEN`, with or without a session
 * cookie, so it also stops login CSRF (see {@link isCrossSiteRequest}). Safe methods and bearer
 * requests without a cookie always pass.
 * @throws TypeError when `trustedOrigins` is malformed.
 */
export function sameOriginOnly(options: SameOriginOptions = {}): RequestHandler {
  const trusted = normaliseOrigins(options.trustedOrigins);
  return (req, _res, next) => {
    if (isCrossSiteRequest(req, trusted)) {
      next(new BrokerError('ERR_FORBIDDEN', 'Cross-site requests are not allowed.'));
      return;
    }
    next();
  };
}
