import type { Request, RequestHandler } from 'express';
import { BrokerError } from '../errors.js';

/** Options of {@link sameOriginOnly}. */
export interface SameOriginOptions {
  /**
   * Origins (`https://app.example.com`, scheme + host + port) allowed to send state-changing
   * requests besides the app's own origin (see {@link isCrossSiteRequest}). Default: none.
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

/** The serialised origin of `url` (scheme, host, port; default ports dropped), or undefined. */
function originOf(url: string): string | undefined {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? undefined : o;
  } catch {
    return undefined;
  }
}

/**
 * The origins the app itself is reached at, as Express sees the request: `req.protocol` (which
 * honours `X-Forwarded-Proto` only under the app's `trust proxy` setting) with the `Host` header,
 * and with the first `X-Forwarded-Host` when Express took the host name from it (`req.hostname`
 * honours it only under `trust proxy` too). Without Express's properties (a bare node request):
 * `https` on a TLS socket, else `http`, with the `Host` header.
 */
function ownOrigins(req: Request): string[] {
  const r = req as Partial<Pick<Request, 'protocol' | 'hostname'>> & Pick<Request, 'headers' | 'socket'>;
  const encrypted = (r.socket as { encrypted?: unknown } | undefined)?.encrypted === true;
  const protocol = typeof r.protocol === 'string' ? r.protocol : encrypted ? 'https' : 'http';
  const out: string[] = [];
  const host = firstHeader(req, 'host');
  const fromHost = host === undefined ? undefined : originOf(`${protocol}://${host}`);
  if (fromHost !== undefined) out.push(fromHost);
  const forwarded = firstHeader(req, 'x-forwarded-host')?.split(',')[0]?.trim();
  if (forwarded !== undefined && forwarded !== '' && typeof r.hostname === 'string') {
    const fromForwarded = originOf(`${protocol}://${forwarded}`);
    if (fromForwarded !== undefined && new URL(fromForwarded).hostname === r.hostname) out.push(fromForwarded);
  }
  return out;
}

/**
 * Decides whether a state-changing request is cross-site. Whether or not it carries a cookie: a
 * browser with no session yet is exactly the victim of login CSRF (a cross-site form logging it
 * into the attacker's account). Only a request with an `Authorization` header and no cookie is
 * exempt (a bearer client, not a browser sending ambient credentials; a cross-site page cannot set
 * that header without a CORS preflight).
 *
 * An `Origin` header decides when present: it must be a trusted origin or the app's own origin,
 * compared by scheme, host and port (so `https://host` does not pass on an http app, nor
 * `http://host:8080` on `http://host`); a foreign or `null` Origin is cross-site whatever
 * `Sec-Fetch-Site` says. A `Sec-Fetch-Site` other than `same-origin` or `none` is cross-site unless
 * the Origin is trusted. Non-browser clients that send neither header (curl, mobile apps) pass.
 *
 * Behind a reverse proxy the app's own origin is what Express derives (`req.protocol`,
 * `req.hostname`): set Express's `trust proxy` so that `X-Forwarded-Proto` and `X-Forwarded-Host`
 * count, or list the public origin in `trustedOrigins`.
 */
export function isCrossSiteRequest(req: Request, trusted: ReadonlySet<string>): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  if (firstHeader(req, 'authorization') !== undefined && firstHeader(req, 'cookie') === undefined) return false;
  const rawOrigin = firstHeader(req, 'origin');
  const origin = rawOrigin === undefined ? undefined : originOf(rawOrigin);
  if (origin !== undefined && trusted.has(origin)) return false;
  const site = firstHeader(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  if (rawOrigin === undefined) return false;
  // `null`, malformed or foreign: cross-site.
  return origin === undefined || !ownOrigins(req).includes(origin);
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
