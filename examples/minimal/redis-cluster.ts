// Fleet mode on a Redis Cluster (ElastiCache Serverless, MemoryDB, ElastiCache or Valkey with cluster
// mode on, a cluster of your own): fleet.ts's client made with node-redis `createCluster`. The seeds
// (`REDIS_CLUSTER_NODES=rediss://user:password@host:port,…`) only serve to find the cluster's nodes;
// the client connects to every node it finds with `defaults` alone, so TLS and the credentials go
// there (in the seeds' URLs alone, they reach the seeds, and every other node answers NOAUTH).
import { createCluster } from 'redis';

export function clusterClient(seeds: string) {
  const urls = seeds.split(',').map((seed) => new URL(seed.trim()));
  const { protocol, username, password } = urls[0] ?? new URL('redis://127.0.0.1:6379');
  return createCluster({
    rootNodes: urls.map((url) => ({ socket: { host: url.hostname, port: Number(url.port || 6379) } })),
    defaults: {
      ...(username === '' ? {} : { username: decodeURIComponent(username) }),
      ...(password === '' ? {} : { password: decodeURIComponent(password) }),
      socket: protocol === 'rediss:' ? { tls: true as const } : {},
    },
  });
}
