import { InMemoryQuotaStore, type BucketShape, type QuotaStore, type QuotaTake } from '../broker/quota/store.js';
import type { RedisRunner } from './runner.js';

/**
 * The shared quota store while Redis answers, this process's buckets while it does not: during an
 * outage each instance governs its own calls (per-process behaviour), never failing a call for
 * want of Redis.
 */
export function fallbackStore(runner: RedisRunner, shared: QuotaStore): QuotaStore {
  const local = new InMemoryQuotaStore();
  return {
    async take(take: QuotaTake) {
      if (!runner.usable()) return local.take(take);
      try {
        return await shared.take(take);
      } catch {
        return local.take(take);
      }
    },
    async refund(kind: 'operation' | 'user', key: string, bucket: BucketShape, now: number) {
      if (!runner.usable()) {
        local.refund(kind, key, bucket, now);
        return;
      }
      try {
        await shared.refund(kind, key, bucket, now);
      } catch {
        local.refund(kind, key, bucket, now);
      }
    },
  };
}
