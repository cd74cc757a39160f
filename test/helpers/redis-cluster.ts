// A real Redis Cluster (Debian's redis-server 7.x) for the fleet tests: the launcher in
// scripts/redis-cluster.ts (shared with `npm run start:fleet -- --cluster`), with the suite's skip
// rule and the key → slot function the tests use to aim a fault at a user's keys.
export {
  startRedisCluster,
  redisClusterBinaries,
  redisCommand,
  type RedisCluster,
  type RedisClusterNode,
} from '../../scripts/redis-cluster.js';
import { redisClusterBinaries } from '../../scripts/redis-cluster.js';

/**
 * Why cluster tests cannot run here, or `undefined` when they can. CI (`CI=true`) installs
 * redis-server (with redis-cli) and must run them: there, a missing binary is a failure, not a skip.
 */
export function redisClusterSkipReason(): string | undefined {
  if (redisClusterBinaries() !== undefined) return undefined;
  if (process.env.CI === 'true')
    throw new Error('redis-server or redis-cli is not installed (CI installs them: apt-get install redis-server)');
  return 'redis-server or redis-cli is not installed (apt-get install redis-server)';
}

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of `key`: of its hash tag (the first non-empty `{...}`) when it has one. */
export function keySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(hashed, 'utf8')) % 16_384;
}
