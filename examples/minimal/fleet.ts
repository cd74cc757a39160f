// The app of app.ts as one of several instances behind a load balancer: sessions and the broker's
// shared tier in Redis. Run each instance with the same REDIS_URL (or REDIS_CLUSTER_NODES),
// SESSION_SECRET and CACHE_ENCRYPTION_KEY (`openssl rand -base64 32`), and COGNITO_* as for app.ts.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisStore } from 'connect-redis';
import { pino } from 'pino';
import { createClient } from 'redis';
import { createBroker, redactPaths } from 'cognito-identity-broker';
import { redisFleet } from 'cognito-identity-broker/fleet';
import { createApp } from './app.js';
import { clusterClient } from './redis-cluster.js';

async function main(): Promise<void> {
  const logger = pino({ redact: [...redactPaths] });
  // node-redis (`npm i redis connect-redis`): one node, or a cluster (./redis-cluster.ts).
  const seeds = process.env.REDIS_CLUSTER_NODES;
  const redis = seeds ? clusterClient(seeds) : createClient({ url: process.env.REDIS_URL });
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
