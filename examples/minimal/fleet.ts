// The app of app.ts as one of several instances behind a load balancer: sessions and the broker's
// shared tier in Redis. Run each instance with the same REDIS_URL, SESSION_SECRET and
// CACHE_ENCRYPTION_KEY (`openssl rand -base64 32`), and COGNITO_* as for app.ts.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisStore } from 'connect-redis';
import { pino } from 'pino';
import { createClient } from 'redis';
import { createBroker, redactPaths } from 'cognito-identity-broker';
import { redisFleet } from 'cognito-identity-broker/fleet';
import { createApp } from './app.js';

async function main(): Promise<void> {
  const logger = pino({ redact: [...redactPaths] });
  const redis = createClient({ url: process.env.REDIS_URL }); // node-redis: `npm i redis connect-redis`
  redis.on('error', (err: Error) => {
    logger.warn({ err: err.message }, 'redis'); // node-redis reconnects by itself
  });
  await redis.connect();

  // One key id and key, the same on every instance; see "Key rotation" for several.
  const fleet = redisFleet({ client: redis, encryptionKeys: { k1: process.env.CACHE_ENCRYPTION_KEY ?? '' } });
  const broker = createBroker({
    identityPoolId: process.env.COGNITO_IDENTITY_POOL_ID ?? '',
    developerProviderName: process.env.COGNITO_DEVELOPER_PROVIDER ?? '',
    logger,
    fleet,
  });
  await broker.preflight({ guests: true });

  // Every instance knows every session. connect-redis stores each as JSON: give it a `serializer`
  // that seals them (examples/express-app/sealing.ts) to keep user and guest ids out of Redis.
  const sessionStore = new RedisStore({ client: redis, prefix: 'myapp:sess:' });
  const server = createApp(broker, { sessionStore }).listen(Number(process.env.PORT ?? 3000), '127.0.0.1', (err) => {
    if (err !== undefined) return fail(err);
    logger.info(`listening on http://127.0.0.1:${String((server.address() as { port: number }).port)}`);
  });

  // At shutdown: stop taking requests, then the fleet tier (its timers and its second connection),
  // then the client. Without fleet.close() the process never exits.
  process.once('SIGTERM', () => {
    server.close(() => {
      void (async () => {
        await fleet.close();
        await redis.close();
        logger.info('stopped');
      })();
    });
  });
}

function fail(err: unknown): never {
  const { code, message } = err as { code?: unknown; message?: unknown };
  console.error(`cannot start: ${String(message)}${typeof code === 'string' ? ` (${code})` : ''}`);
  process.exit(1);
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) main().catch(fail);
