// Stands in for the Redis quota store (this process's buckets) until it lands.
import { InMemoryQuotaStore } from '../broker/quota/store.js';
import type { RedisRunner } from './runner.js';

export class RedisQuotaStore extends InMemoryQuotaStore {
  readonly options: { runner: RedisRunner; prefix: string };
  constructor(options: { runner: RedisRunner; prefix: string }) {
    super();
    this.options = options;
  }
}
