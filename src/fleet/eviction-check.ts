import type { Logger } from 'pino';
import { isCluster } from './runner.js';

/** The part of a node-redis client that reads the server's configuration (absent from some fakes). */
interface CommandSender {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The part of a node-redis cluster that gives a master's own client. */
interface ClusterNodes {
  readonly masters: readonly { readonly address?: unknown }[];
  nodeClient(node: unknown): Promise<Partial<CommandSender>>;
}

/**
 * What the check found: the policy, or why it could not be read. On a cluster, `node` is the master
 * (`host:port`) it is about: the first one found evicting, else the first one that could not be read.
 */
export type EvictionPolicy =
  { readonly policy: string; readonly node?: string } | { readonly unknown: string; readonly node?: string };

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
  const found = isCluster(client)
    ? await clusterPolicy(client as ClusterNodes, timeoutMs)
    : await readPolicy(() => client, timeoutMs);
  const node = found.node === undefined ? {} : { node: found.node };
  if ('policy' in found && found.policy !== 'noeviction') {
    log.error(
      { maxmemoryPolicy: found.policy, ...node },
      'fleet: Redis maxmemory-policy is not noeviction; fleet mode requires noeviction (an evicted entry costs a Cognito load, and an evicted change log drops every instance cache)',
    );
  } else if ('unknown' in found) {
    log.warn(
      { reason: found.unknown, ...node },
      'fleet: cannot read the Redis eviction policy; fleet mode requires maxmemory-policy noeviction: check it on the server',
    );
  }
  return found;
}

/**
 * A cluster: each master keeps its own configuration, so each one's is read (a cluster resized or
 * configured by hand can have one master that evicts). An evicting master is reported first, then
 * one that could not be read; else every master runs `noeviction`.
 */
async function clusterPolicy(cluster: ClusterNodes, timeoutMs: number): Promise<EvictionPolicy> {
  let masters: readonly { readonly address?: unknown }[];
  try {
    masters = [...cluster.masters];
  } catch {
    masters = [];
  }
  if (masters.length === 0) return { unknown: 'the cluster client knows no master' };
  // Each master's whole read (its connection, then CONFIG GET) is bounded: a master that cannot be
  // reached is reported as unread, and does not hold up the others' answer.
  const found = await Promise.all(
    masters.map(async (master): Promise<EvictionPolicy> => {
      const at = typeof master.address === 'string' ? { node: master.address } : {};
      return { ...(await readPolicy(() => cluster.nodeClient(master), timeoutMs)), ...at };
    }),
  );
  return (
    found.find((f) => 'policy' in f && f.policy !== 'noeviction') ??
    found.find((f) => 'unknown' in f) ??
    found[0] ?? { unknown: 'the cluster client knows no master' }
  );
}

/** The client could not send the command (a fake, a client of another library). */
class NoCommands extends Error {}

/**
 * One server's `maxmemory-policy` by CONFIG GET on the client `connect()` gives: the whole read
 * (the connection too) bounded by `timeoutMs`.
 */
async function readPolicy(connect: () => unknown, timeoutMs: number): Promise<EvictionPolicy> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = async (): Promise<unknown> => {
    const client: unknown = await connect();
    const sender = (typeof client === 'object' && client !== null ? client : {}) as Partial<CommandSender>;
    if (typeof sender.sendCommand !== 'function') throw new NoCommands();
    return sender.sendCommand(['CONFIG', 'GET', 'maxmemory-policy']);
  };
  try {
    const reply = await Promise.race([
      read(),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
    const policy = policyOf(reply);
    return policy === undefined ? { unknown: 'CONFIG GET gave no maxmemory-policy' } : { policy };
  } catch (err) {
    if (err instanceof NoCommands) return { unknown: 'the client cannot send CONFIG GET' };
    // The error's message only (e.g. NOPERM, unknown command on a managed server).
    return { unknown: err instanceof Error ? err.message : 'CONFIG GET failed' };
  } finally {
    clearTimeout(timer);
  }
}
