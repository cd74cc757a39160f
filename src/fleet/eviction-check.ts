import type { Logger } from 'pino';
import { isCluster } from './runner.js';

/** The part of a node-redis client that reads the server's configuration (absent from some fakes). */
interface CommandSender {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The part of a node-redis cluster that gives a master's own client. */
interface ClusterNodes {
  readonly masters: readonly unknown[];
  nodeClient(node: unknown): Promise<Partial<CommandSender>>;
}

/** What the check found: the policy, or why it could not be read. */
export type EvictionPolicy = { readonly policy: string } | { readonly unknown: string };

/** The value of `maxmemory-policy` in a CONFIG GET reply (RESP2 array or RESP3 map). */
function policyOf(reply: unknown): string | undefined {
  if (Array.isArray(reply)) {
    const i = reply.indexOf('maxmemory-policy');
    const v: unknown = i >= 0 ? reply[i + 1] : undefined;
    return typeof v === 'string' ? v : undefined;
  }
  if (reply instanceof Map) {
    const v: unknown = reply.get('maxmemory-policy');
    return typeof v === 'string' ? v : undefined;
  }
  if (typeof reply === 'object' && reply !== null) {
    const v: unknown = (reply as Record<string, unknown>)['maxmemory-policy'];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

/**
 * Reads the server's `maxmemory-policy` (CONFIG GET, where the server allows it) and says once,
 * loudly, when it is not `noeviction` or cannot be read. Eviction never makes a stale entry current
 * (each instance judges entries against the changes it has read), but it costs: an evicted entry is
 * a Cognito load, an evicted change state drops every instance's cache (an evicted log, the caches
 * of the instances that had not read it), and an evicted owner's marker leaves that owner's entries
 * to the log's bound (`syncIntervalMs` for an instance that missed the change's wake-up).
 */
export async function checkEvictionPolicy(client: unknown, log: Logger, timeoutMs: number): Promise<EvictionPolicy> {
  let found: EvictionPolicy;
  let sender = client as Partial<CommandSender>;
  // A cluster: each master keeps its own configuration; the first one's is read (every master of
  // a cluster is meant to run with the same).
  if (isCluster(client)) {
    const cluster = client as ClusterNodes;
    try {
      const master: unknown = cluster.masters[0];
      sender = master === undefined ? {} : await cluster.nodeClient(master);
    } catch {
      sender = {};
    }
  }
  if (typeof sender.sendCommand !== 'function') {
    found = { unknown: 'the client cannot send CONFIG GET' };
  } else {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reply = await Promise.race([
        sender.sendCommand(['CONFIG', 'GET', 'maxmemory-policy']),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no answer within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
      const policy = policyOf(reply);
      found = policy === undefined ? { unknown: 'CONFIG GET gave no maxmemory-policy' } : { policy };
    } catch (err) {
      // The error's message only (e.g. NOPERM, unknown command on a managed server).
      found = { unknown: err instanceof Error ? err.message : 'CONFIG GET failed' };
    } finally {
      clearTimeout(timer);
    }
  }
  if ('policy' in found && found.policy !== 'noeviction') {
    log.error(
      { maxmemoryPolicy: found.policy },
      'fleet: Redis maxmemory-policy is not noeviction; fleet mode requires noeviction (an evicted entry costs a Cognito load, and an evicted change log drops every instance cache)',
    );
  } else if ('unknown' in found) {
    log.warn(
      { reason: found.unknown },
      'fleet: cannot read the Redis eviction policy; fleet mode requires maxmemory-policy noeviction: check it on the server',
    );
  }
  return found;
}
