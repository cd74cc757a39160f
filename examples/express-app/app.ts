import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { BrokerError, type Broker } from '../../src/index.js';
import {
  brokerErrorHandler,
  cognitoRouter,
  sameOriginOnly,
  type RateLimitOptions,
} from '../../src/middleware/index.js';
import { BearerStrategy } from '../../src/middleware/passport/strategy.js';
import { bearerTokenStore } from './bearer-tokens.js';
import { healthRoutes } from './health.js';
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
  /** Answers `GET /metrics` (Prometheus text), e.g. `startMetrics().handler`. No route when absent. */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** How long `/readyz` reuses the broker's readiness, ms. Default 5000. */
  readonly readyCacheMs?: number;
}

const SESSION_COOKIE = 'demo.sid';
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
  const tokens = bearerTokenStore();
  const allowGuests = deps.allowGuests ?? true;

  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      done(null, users.verify(username, password) ?? false);
    }),
  );
  auth.use(
    new BearerStrategy<DemoUser>({
      whenMissing: 'pass',
      verify: (token) => {
        const id = tokens.resolve(token);
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
    // Proof of the other account: its username and password in the request body.
    verifyMergeSource: (req) => {
      const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
      return users.verify(body.username, body.password)?.id ?? null;
    },
  });

  const app = express();
  app.disable('x-powered-by');
  // Probes and scrapes first: no session, no request log line. In production, expose them only to
  // the orchestrator and the scraper (they are unauthenticated).
  app.use(
    healthRoutes({
      broker: deps.broker,
      ...(deps.readyCacheMs === undefined ? {} : { readyCacheMs: deps.readyCacheMs }),
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
  app.use(
    session({
      name: SESSION_COOKIE,
      secret: deps.sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies ?? false, maxAge: 8 * 3600 * 1000 },
    }),
  );
  app.use(auth.initialize());
  app.use(auth.session());
  const sameOrigin = sameOriginOnly();
  // @types/passport types authenticate()'s return as `any`; it is an Express handler.
  const localLogin = auth.authenticate('local', { keepSessionInfo: true, failWithError: true }) as RequestHandler;
  const bearerOrSession = auth.authenticate('bearer', { session: false, failWithError: true }) as RequestHandler;
  const json = express.json({ limit: 4096 });

  // 200 with user null when logged out, so the page's first probe is not an error.
  app.get('/me', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json({ user: publicUser(req.user) });
  });

  app.get('/demo/config', (_req, res) => {
    res.json({
      provider: demoProvider,
      canMintProviderTokens: deps.mintProviderToken !== undefined,
      guests: allowGuests,
    });
  });

  // Browser login: a session cookie. keepSessionInfo keeps the guest identity id across the
  // session regeneration passport does at login, so afterLogin() can upgrade it.
  app.post('/login', sameOrigin, json, localLogin, aws.afterLogin(), (req, res) => {
    const result = res.locals.cognito as { identityId?: string } | undefined;
    res.set('Cache-Control', 'no-store');
    res.json({ user: publicUser(req.user), identityId: result?.identityId ?? null });
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
    (req, _res, next) => {
      const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
      const user = users.verify(body.username, body.password);
      if (user === null) {
        next(new BrokerError('ERR_UNAUTHENTICATED', 'Wrong username or password.'));
        return;
      }
      req.user = user;
      next();
    },
    aws.afterLogin(),
    (req, res) => {
      const user = req.user as DemoUser;
      const issued = tokens.issue(user.id);
      const result = res.locals.cognito as { identityId?: string } | undefined;
      res.set('Cache-Control', 'no-store');
      res.json({
        accessToken: issued.token,
        tokenType: 'Bearer',
        expiresIn: issued.expiresIn,
        identityId: result?.identityId ?? null,
      });
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
  app.use(brokerErrorHandler({ logger }));
  return app;
}
