import { quotaLimiter } from './quotas.js';
import { isRegion } from './tokens.js';
import type { EmulatorOptions, SeedPool } from './types.js';

const REGION = /^[a-z]{2}-[a-z-]{2,20}-\d{1,2}$/;

/** Checks {@link EmulatorOptions} as given (plain JavaScript callers included). @throws TypeError */
export function checkOptions(o: EmulatorOptions): void {
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host.length === 0))
    throw new TypeError('host must be a non-empty string');
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw new TypeError('port must be an integer in [0, 65535]');
  }
  if (o.region !== undefined && (typeof o.region !== 'string' || !REGION.test(o.region))) {
    throw new TypeError('region must look like us-east-1');
  }
  if (o.stateFile !== undefined && (typeof o.stateFile !== 'string' || o.stateFile.length === 0)) {
    throw new TypeError('stateFile must be a non-empty path');
  }
  if (o.stateLogBytes !== undefined && (!Number.isSafeInteger(o.stateLogBytes) || o.stateLogBytes < 0)) {
    throw new TypeError('stateLogBytes must be a non-negative integer');
  }
  if (o.clock !== undefined && typeof o.clock.now !== 'function') throw new TypeError('clock must have now()');
  quotaLimiter(o.quotas);
  if (o.seed !== undefined) {
    if (!Array.isArray(o.seed)) throw new TypeError('seed must be an array of pools');
    for (const s of o.seed as readonly SeedPool[]) {
      if (typeof s.name !== 'string' || !/^[\w\s+=,.@-]{1,128}$/.test(s.name))
        throw new TypeError(`seed pool name ${JSON.stringify(s.name)} is invalid`);
      if (s.region !== undefined && !isRegion(s.region)) {
        throw new TypeError(`seed pool ${JSON.stringify(s.name)}: region must look like us-east-1`);
      }
      if (s.allowClassicFlow !== undefined && typeof s.allowClassicFlow !== 'boolean')
        throw new TypeError(`seed pool ${JSON.stringify(s.name)}: allowClassicFlow must be a boolean`);
      if (s.developerProviderName !== undefined && !/^[\w._-]{1,128}$/.test(s.developerProviderName)) {
        throw new TypeError(`seed developerProviderName ${JSON.stringify(s.developerProviderName)} is invalid`);
      }
    }
  }
  if (o.strictSigV4 !== undefined) {
    if (!Array.isArray(o.strictSigV4))
      throw new TypeError('strictSigV4 must be an array of {accessKeyId, secretAccessKey}');
    for (const c of o.strictSigV4 as readonly { accessKeyId?: unknown; secretAccessKey?: unknown }[]) {
      if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string' || c.accessKeyId === '') {
        throw new TypeError('strictSigV4 entries need accessKeyId and secretAccessKey strings');
      }
    }
  }
}
