// Placeholder until the Redis quota store lands (branch redis-quota).
import type { BucketShape, QuotaStore, QuotaTake, QuotaTakeResult } from '../broker/quota/store.js';
import type { RedisRunner } from './runner.js';

export class RedisQuotaStore implements QuotaStore {
  constructor(_options: { runner: RedisRunner; prefix: string }) {}
  take(_take: QuotaTake): Promise<QuotaTakeResult> {
    return Promise.reject(new Error('not yet'));
  }
  refund(_kind: 'operation' | 'user', _key: string, _bucket: BucketShape, _now: number): Promise<void> {
    return Promise.reject(new Error('not yet'));
  }
}
