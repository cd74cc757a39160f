import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import session, { type Store } from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { BrokerError, type Broker } from '../../src/index.js';
import {
  brokerErrorHandler,
  cognitoRouter,
  sameOriginOnly,
  type AfterLoginResult,
  type RateLimitOptions,
} from '../../src/middleware/index.js';
import { BearerStrategy } from '../../src/middleware/passport/strategy.js';
import { bearerTokenStore, type BearerTokenStore } from './bearer-tokens.js';
import { sessionsUnavailableHandler, storeUnavailable, UnavailableWhenFailing } from './sessions.js';
import { loginRateLimits, type LoginRateLimitOptions } from './login-limits.js';
import { healthRoutes, type FleetHealth } from './health.js';
import { DEMO_USERS, userDirectory, type DemoUser } from './users.js';

/** What {@link createApp} needs. Everything that touches the environment is passed in. */
export interface AppDeps {
  /** The broker, from `createBroker()`. */
  readonly broker: Broker;
  /** Signs the session cookie. */
  readonly sessionSecret: string;
  /** Root logger; give it `redact: redactPaths`. Default: silent. */
  readonly logger?: Logger;
  /** Demo accounts. Default {@link DEMO_USERS}. */
  readonly users?: readonly DemoUser[];
  /** The public login provider users can link. Default `graph.facebook.com`. */
  readonly demoProvider?: string;
  /**
   * Mints a provider token for the demo provider (the emulator's `mintProviderToken`). When set,
   * the demo-only route `POST /demo/provider-token` exists.
   */
  readonly mintProviderToken?: (provider: string, subject: string) => string;
  /** Serve guest credentials (the pool must allow unauthenticated identities). Default true. */
  readonly allowGuests?: boolean;
  /** Send the session cookie only over HTTPS. Default false (the demo runs on http://127.0.0.1). */
  readonly secureCookies?: boolean;
  /** The router's per-user limit on link/unlink/merge. Default the router's. */
  readonly rateLimit?: RateLimitOptions | false;
  /**
   * Limits on the password logins (`POST /login`, `POST /api/tokens`): all attempts per client
   * address, failed attempts per username. Defaults in {@link LoginRateLimitOptions}; a load test
   * from one address raises them, there is no switch to turn them off.
   */
  readonly loginRateLimit?: LoginRateLimitOptions;
  /**
   * Express's `trust proxy` setting: set it (to the proxy's hop count or addresses) when the app
   * runs behind a reverse proxy, so that `req.ip` (the login limit's client address),
   * `req.protocol` and the host (the CSRF check's own origin) come from the proxy's
   * `X-Forwarded-*` headers. Default false: the socket's address, the Host header.
   */
  readonly trustProxy?: boolean | number | string | readonly string[];
  /** Origins besides the app's own allowed to send state-changing requests. Default none. */
  readonly trustedOrigins?: readonly string[];
  /**
   * The emulator's STS (`endpoint` such as `http://127.0.0.1:4566`, and its `region`). When set,
   * `POST /sts` forwards the page's signed STS requests there and the page offers "Verify
   * credentials". Real STS is never proxied: a page calling it needs STS's own CORS setup.
   */
  readonly sts?: StsForwardOptions;
  /** Answers `GET /metrics` (Prometheus text), e.g. `startMetrics().handler`. No route when absent. */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** How long `/readyz` reuses the broker's readiness, ms. Default 5000. */
  readonly readyCacheMs?: number;
  /**
   * Where sessions live. Default express-session's memory store (one process); a fleet gives a
   * shared one (connect-redis's `RedisStore`). A store that fails answers 503 `Retry-After: 1`.
   */
  readonly sessionStore?: Store;
  /** Longest wait for one session store call before it answers 503, ms. Default 1000. */
  readonly sessionStoreTimeoutMs?: number;
  /** Where the mobile bearer tokens live. Default in memory (one process); a fleet gives a shared one. */
  readonly bearerTokens?: BearerTokenStore;
  /** Fleet mode's state for `/readyz` (the broker's shared tier and the sessions' Redis connection). */
  readonly fleetHealth?: () => FleetHealth;
}

/** Where {@link AppDeps.sts} forwards to. */
export interface StsForwardOptions {
  readonly endpoint: string;
  readonly region: string;
}

const SESSION_COOKIE = 'demo.sid';
/** Where the page loads `cognito-identity-broker/client` from. */
export const CLIENT_BUNDLE_PATH = '/vendor/broker-client.mjs';

let clientBundle: Promise<string> | undefined;

/**
 * The page's copy of `src/client`, bundled by esbuild on first request and kept for the process's
 * life (a failed build is tried again on the next request). esbuild is imported here, not at load,
 * so apps and tests that never serve the page never load it.
 */
function brokerClientBundle(): Promise<string> {
  clientBundle ??= import('../../scripts/client-bundle.mjs')
    .then(({ bundleClient }) => bundleClient())
    .catch((err: unknown) => {
      clientBundle = undefined;
      throw err;
    });
  return clientBundle;
}
/** The page's signed request headers that `POST /sts` passes on; nothing else (no cookie) goes. */
const STS_FORWARDED = ['authorization', 'content-type', 'x-amz-date', 'x-amz-security-token'] as const;
const STS_TIMEOUT_MS = 5000;

function stsTarget(sts: StsForwardOptions): URL {
  let url: URL | undefined;
  try {
    url = new URL(sts.endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '') {
    throw new TypeError('sts.endpoint must be an http(s) URL without a path, like http://127.0.0.1:4566');
  }
  if (typeof sts.region !== 'string' || !/^[a-z0-9-]{1,32}$/.test(sts.region)) {
    throw new TypeError('sts.region must look like us-east-1');
  }
  return url;
}

/**
 * `POST /sts`: the page's SigV4-signed request, body byte for byte and only its signing headers, to
 * the emulator's STS at `/`; the answer back as it came. The page signs for the emulator's host and
 * path, which is where the request arrives (fetch sets Host from the target), so the emulator checks
 * the browser's own signature; this adds no credentials and takes none from the session.
 */
function stsForwarder(target: URL): RequestHandler {
  return (req, res, next) => {
    const headers: Record<string, string> = {};
    for (const name of STS_FORWARDED) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const body: unknown = req.body;
    fetch(target, {
      method: 'POST',
      headers,
      body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
      redirect: 'manual',
      signal: AbortSignal.timeout(STS_TIMEOUT_MS),
    })
      .then(async (upstream) => {
        const answer = Buffer.from(await upstream.arrayBuffer());
        res.status(upstream.status);
        res.set({ 'Content-Type': upstream.headers.get('content-type') ?? 'text/xml', 'Cache-Control': 'no-store' });
        res.send(answer);
      })
      .catch(() => {
        next(new BrokerError('ERR_COGNITO_UNAVAILABLE', "The emulator's STS could not be reached."));
      });
  };
}
const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');

function publicUser(user: unknown): { id: string; username: string; name: string } | null {
  if (typeof user !== 'object' || user === null) return null;
  const u = user as DemoUser;
  return { id: u.id, username: u.username, name: u.name };
}

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
  next();
}

/**
 * The example app: express-session + passport-local demo accounts, a bearer login for mobile
 * clients, the Cognito router under `/aws`, and a web page at `/`. Never listens: `server.ts` does.
 */
export function createApp(deps: AppDeps): Express {
  if (typeof deps.sessionSecret !== 'string' || deps.sessionSecret.length < 16) {
    throw new TypeError('sessionSecret must be a string of at least 16 characters');
  }
  const logger = deps.logger ?? pino({ level: 'silent' });
  const users = userDirectory(deps.users ?? DEMO_USERS);
  const demoProvider = deps.demoProvider ?? 'graph.facebook.com';
  const tokens = deps.bearerTokens ?? bearerTokenStore();
  const allowGuests = deps.allowGuests ?? true;
  const sts = deps.sts === undefined ? undefined : { target: stsTarget(deps.sts), region: deps.sts.region };

  const trustProxy = deps.trustProxy ?? false;
  if (!['boolean', 'number', 'string'].includes(typeof trustProxy) && !Array.isArray(trustProxy)) {
    throw new TypeError('trustProxy must be a boolean, a hop count, or addresses');
  }
  // What a real app must do: every password login is limited per client address, and failures per
  // username, before the password is even checked.
  const loginLimits = loginRateLimits(deps.loginRateLimit);

  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = users.verify(username, password);
      if (user === null) loginLimits.failed(username);
      done(null, user ?? false);
    }),
  );
  auth.use(
    new BearerStrategy<DemoUser>({
      whenMissing: 'pass',
      verify: async (token) => {
        let id: string | null;
        try {
          id = await tokens.resolve(token);
        } catch (err) {
          throw storeUnavailable(err);
        }
        return id === null ? null : users.byId(id);
      },
    }),
  );
  auth.serializeUser((user, done) => {
    done(null, (user as DemoUser).id);
  });
  auth.deserializeUser((id: unknown, done) => {
    done(null, typeof id === 'string' ? (users.byId(id) ?? false) : false);
  });

  const aws = cognitoRouter({
    broker: deps.broker,
    allowedProviders: [demoProvider],
    allowGuests,
    logger,
    ...(deps.rateLimit === undefined ? {} : { rateLimit: deps.rateLimit }),
    ...(deps.trustedOrigins === undefined ? {} : { trustedOrigins: deps.trustedOrigins }),
    // Proof of the other account: its username and password in the request body.
    verifyMergeSource: (req) => {
      const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
      return users.verify(body.username, body.password)?.id ?? null;
    },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy);
  // Probes and scrapes first: no session, no request log line. In production, expose them only to
  // the orchestrator and the scraper (they are unauthenticated).
  app.use(
    healthRoutes({
      broker: deps.broker,
      ...(deps.readyCacheMs === undefined ? {} : { readyCacheMs: deps.readyCacheMs }),
      ...(deps.fleetHealth === undefined ? {} : { fleet: deps.fleetHealth }),
    }),
  );
  const scrape = deps.metrics;
  if (scrape !== undefined) {
    app.get('/metrics', (req, res) => {
      scrape(req, res);
    });
  }
  app.use(pinoHttp({ logger, autoLogging: { ignore: (req) => req.url === '/favicon.ico' } }));
  app.use(securityHeaders);
  app.get(CLIENT_BUNDLE_PATH, (_req, res, next) => {
    brokerClientBundle().then((code) => {
      res.set('Cache-Control', 'no-cache');
      res.type('text/javascript');
      res.send(code);
    }, next);
  });
  // The page's files, before the session so they create none; API paths skip the file lookup
  // (an fs.stat per request on the credentials hot path otherwise).
  const page = express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 });
  app.use((req, res, next) => {
    if (req.path.startsWith('/aws/') || req.path.startsWith('/api/')) {
      next();
      return;
    }
    page(req, res, next);
  });
  const sessions = session({
    name: SESSION_COOKIE,
    secret: deps.sessionSecret,
    resave: false,
    saveUninitialized: false,
    ...(deps.sessionStore === undefined
      ? {}
      : { store: new UnavailableWhenFailing(deps.sessionStore, deps.sessionStoreTimeoutMs ?? 1000) }),
    cookie: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies ?? false, maxAge: 8 * 3600 * 1000 },
  });
  app.use(sessions);
  app.use(auth.initialize());
  app.use(auth.session());
  const sameOrigin = sameOriginOnly(deps.trustedOrigins === undefined ? {} : { trustedOrigins: deps.trustedOrigins });
  // @types/passport types authenticate()'s return as `any`; it is an Express handler.
  const localLogin = auth.authenticate('local', { keepSessionInfo: true, failWithError: true }) as RequestHandler;
  const bearerOrSession = auth.authenticate('bearer', { session: false, failWithError: true }) as RequestHandler;
  const json = express.json({ limit: 4096 });

  // 200 with user null when logged out, so the page's first probe is not an error.
  app.get('/me', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json({ user: publicUser(req.user) });
  });

  // The page shows the accounts on an identity (its developer users, which are this app's user ids)
  // by username, as every message does. The demo accounts are printed at start; a real app would
  // answer only for the ids on the signed-in user's identity, from its own user store.
  app.get('/demo/account-names', (req, res, next) => {
    if (publicUser(req.user) === null) {
      next(new BrokerError('ERR_UNAUTHENTICATED', 'Log in first.'));
      return;
    }
    const ids = (typeof req.query.ids === 'string' ? req.query.ids : '').split(',').slice(0, 60);
    const names: Record<string, string> = {};
    for (const id of ids) {
      const user = users.byId(id);
      if (user !== null) names[id] = user.username;
    }
    res.set('Cache-Control', 'no-store');
    res.json({ names });
  });

  app.get('/demo/config', (_req, res) => {
    res.json({
      provider: demoProvider,
      canMintProviderTokens: deps.mintProviderToken !== undefined,
      guests: allowGuests,
      // What the page signs for: the host its request finally reaches, not the app's.
      sts: sts === undefined ? null : { url: '/sts', host: sts.target.host, region: sts.region },
    });
  });

  if (sts !== undefined) {
    app.post('/sts', sameOrigin, express.raw({ type: () => true, limit: 4096 }), stsForwarder(sts.target));
  }

  // Browser login: a session cookie. keepSessionInfo keeps the guest identity id across the
  // session regeneration passport does at login, so afterLogin() can upgrade it.
  // `guest` says what became of the session's guest identity (null when there was none), so that
  // the page can tell the user whether it is theirs now or was left behind.
  app.post('/login', sameOrigin, json, loginLimits.beforeLogin, localLogin, aws.afterLogin(), (req, res) => {
    const result = res.locals.cognito as AfterLoginResult | undefined;
    res.set('Cache-Control', 'no-store');
    res.json({ user: publicUser(req.user), identityId: result?.identityId ?? null, guest: result?.guest ?? null });
  });

  app.post('/logout', sameOrigin, aws.logout(), (req, res, next) => {
    req.logout((err) => {
      if (err !== undefined && err !== null) {
        next(err);
        return;
      }
      req.session.destroy(() => {
        res.clearCookie(SESSION_COOKIE);
        res.status(204).end();
      });
    });
  });

  // Mobile login: exchange a username and password for an opaque bearer token.
  app.post(
    '/api/tokens',
    json,
    loginLimits.beforeLogin,
    (req, _res, next) => {
      const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
      const user = users.verify(body.username, body.password);
      if (user === null) {
        loginLimits.failed(body.username);
        next(new BrokerError('ERR_UNAUTHENTICATED', 'Wrong username or password.'));
        return;
      }
      req.user = user;
      next();
    },
    aws.afterLogin(),
    (req, res, next) => {
      const user = req.user as DemoUser;
      const result = res.locals.cognito as AfterLoginResult | undefined;
      tokens.issue(user.id).then(
        (issued) => {
          res.set('Cache-Control', 'no-store');
          res.json({
            accessToken: issued.token,
            tokenType: 'Bearer',
            expiresIn: issued.expiresIn,
            identityId: result?.identityId ?? null,
            guest: result?.guest ?? null,
          });
        },
        (err: unknown) => {
          next(storeUnavailable(err));
        },
      );
    },
  );

  const mint = deps.mintProviderToken;
  if (mint !== undefined) {
    // Demo only: stands in for the Facebook SDK on the client, which would hand the page a real token.
    app.post('/demo/provider-token', sameOrigin, (req, res, next) => {
      const user = publicUser(req.user);
      if (user === null) {
        next(new BrokerError('ERR_UNAUTHENTICATED', 'Log in first.'));
        return;
      }
      res.set('Cache-Control', 'no-store');
      res.json({ provider: demoProvider, token: mint(demoProvider, `demo-${user.id}`) });
    });
  }

  app.use('/aws', bearerOrSession, aws);

  app.use((_req: Request, _res: Response, next: NextFunction) => {
    next(new BrokerError('ERR_NOT_FOUND', 'No such route.'));
  });
  app.use(sessionsUnavailableHandler());
  app.use(brokerErrorHandler({ logger }));
  return app;
}
