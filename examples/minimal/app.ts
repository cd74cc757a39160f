import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import session, { type Store } from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { pino } from 'pino';
import { brokerErrorHandler, cognitoRouter, createBroker, redactPaths, type Broker } from 'cognito-identity-broker';
import { BearerStrategy } from 'cognito-identity-broker/passport';

interface User {
  id: string;
  username: string;
}
// Stands in for your user store (keep password hashes, not passwords).
const accounts = [
  { id: 'user-1', username: 'alice', password: 'alice-pass' },
  { id: 'user-2', username: 'alice.work', password: 'alice-work-pass' },
];
function verifyPassword(username: unknown, password: unknown): User | null {
  const account = accounts.find((a) => a.username === username && a.password === password);
  return account === undefined ? null : { id: account.id, username: account.username };
}

/**
 * The app around a broker: a test passes one on the emulator (startTestBroker), main() a real one.
 * `sessionStore`: where sessions live (default: in memory, one process; fleet.ts gives Redis).
 */
export function createApp(broker: Broker, options: { sessionStore?: Store } = {}): express.Express {
  const bearerTokens = new Map<string, User>(); // mobile clients' opaque tokens
  const auth = new passport.Authenticator();
  auth.use(
    new LocalStrategy((username, password, done) => {
      done(null, verifyPassword(username, password) ?? false);
    }),
  );
  auth.use(new BearerStrategy<User>({ whenMissing: 'pass', verify: (token) => bearerTokens.get(token) ?? null }));
  auth.serializeUser((user, done) => {
    done(null, user);
  });
  auth.deserializeUser((user: User, done) => {
    done(null, user);
  });

  const aws = cognitoRouter({
    broker,
    allowedProviders: ['graph.facebook.com'], // public logins users may link
    allowGuests: true, // POST /aws/guest (the pool must allow unauthenticated identities)
    // POST /aws/merge {username, password}: proof that the other account is the same person's.
    verifyMergeSource: (req) => {
      const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
      return verifyPassword(body.username, body.password)?.id ?? null;
    },
  });

  const app = express();
  app.use(
    session({
      secret: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'),
      ...(options.sessionStore === undefined ? {} : { store: options.sessionStore }),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.use(auth.initialize());
  app.use(auth.session());

  // keepSessionInfo: keep the session's guest identity through passport's session regeneration, so
  // that afterLogin() makes it the user's.
  const login = auth.authenticate('local', { keepSessionInfo: true }) as express.RequestHandler;
  app.post('/login', express.json(), login, aws.afterLogin(), (req, res) => {
    const { identityId } = res.locals.cognito as { identityId?: string };
    res.json({ user: req.user, identityId });
  });
  app.post('/logout', aws.logout(), (req, res, next) => {
    req.logout((err: unknown) => {
      if (err === undefined || err === null) res.sendStatus(204);
      else next(err);
    });
  });

  // Mobile clients log in for a bearer token and send `Authorization: Bearer …` to /aws.
  const tokenLogin = auth.authenticate('local', { session: false }) as express.RequestHandler;
  app.post('/api/tokens', express.json(), tokenLogin, aws.afterLogin(), (req, res) => {
    const accessToken = randomBytes(32).toString('base64url');
    bearerTokens.set(accessToken, req.user as User);
    res.json({ accessToken });
  });
  const bearer = auth.authenticate('bearer', { session: false }) as express.RequestHandler;

  app.use('/aws', bearer, aws); // after session and passport: the user is req.user
  app.use(brokerErrorHandler()); // application/problem+json with a stable `code`
  return app;
}

async function main(): Promise<void> {
  const logger = pino({ redact: [...redactPaths] }); // no token or secret in a log line
  const broker = createBroker({
    identityPoolId: process.env.COGNITO_IDENTITY_POOL_ID ?? '', // 'us-east-1:…'; the region comes from it
    developerProviderName: process.env.COGNITO_DEVELOPER_PROVIDER ?? '', // 'login.example.app'
    logger,
    // The AWS SDK's default client: credentials from the environment, and the endpoint from
    // AWS_ENDPOINT_URL_COGNITO_IDENTITY when set (the emulator). Or pass `client: new CognitoIdentityClient(…)`.
  });
  // Names a wrong pool, provider, region or missing AWS credentials before the first user meets it.
  await broker.preflight({ guests: true });
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(broker).listen(port, '127.0.0.1', (err) => {
    if (err !== undefined) return fail(err); // Express 5 hands a listen error (EADDRINUSE) to this callback
    const address = server.address() as { port: number };
    logger.info(`listening on http://127.0.0.1:${String(address.port)}`);
  });
}

function fail(err: unknown): never {
  const { code, message } = err as { code?: unknown; message?: unknown };
  console.error(`cannot start: ${String(message)}${typeof code === 'string' ? ` (${code})` : ''}`);
  process.exit(1);
}

// Listens only when run (`node app.js`), not when a test imports createApp.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) main().catch(fail);
