import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultController } from './faults.js';
import { awsQueryProtocol } from './http/aws-query.js';
import { handleControl, type ControlApi } from './http/control.js';
import { createRequestHandler, type ServerDeps } from './http/server.js';
import { quotaLimiter } from './quotas.js';
import { ChangeTracker } from './service/change-tracker.js';
import {
  RegionalServices,
  type RegionalServicesOptions,
  type RegionsDelta,
  type RegionsSnapshot,
} from './service/regions.js';
import type { PoolRecord } from './service/state.js';
import { CredentialIssuer } from './session-token.js';
import { readStateFile, type StateFileContent } from './state-file.js';
import { StateFileWriter } from './state-file-writer.js';
import { acquireStateLock, type StateLock } from './state-lock.js';
import { StsService, type PoolTrust } from './sts/sts-service.js';
import { arnPartition, cognitoIssuer, isCognitoIssuer, isRegion, mintProviderToken } from './tokens.js';
import type { EmulatorClock, EmulatorOptions, PoolInfo, RunningEmulator, SeedPool } from './types.js';

const REGION = /^[a-z]{2}-[a-z-]{2,20}-\d{1,2}$/;
const DEFAULT_PROVIDER_TOKEN_SECONDS = 3600;

/**
 * The state file's content: every region (see {@link RegionsSnapshot}), the default region, and the
 * key of the minted temporary credentials (one for every region and STS). Files written before
 * regions hold one region as `{region, signer, service, credentials?}`; they are read as that region
 * alone. Files written before STS have no `credentials`: a fresh key is made.
 */
interface PersistedState extends RegionsSnapshot {
  region: string;
  credentials?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function roleName(poolName: string, kind: 'Auth' | 'Unauth'): string {
  const safe = poolName.replace(/[^\w+=,.@-]/g, '_').slice(0, 40);
  return `Cognito_${safe}${kind}_Role`;
}

function checkOptions(o: EmulatorOptions): void {
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

function poolInfo(p: PoolRecord): PoolInfo {
  const info: PoolInfo = {
    identityPoolId: p.id,
    identityPoolName: p.name,
    roles: { ...p.roles },
    ...(p.developerProviderName === undefined ? {} : { developerProviderName: p.developerProviderName }),
  };
  return info;
}

/** The saved state, in today's form, from a state file of today's or the single-region form. */
function persistedState(raw: unknown, file: string): PersistedState {
  const damaged = (what: string): never => {
    throw new Error(`emulator state file ${file} is damaged (${what}); it was left untouched: fix or delete it`);
  };
  if (!isRecord(raw) || !isRegion(raw.region)) return damaged('missing region');
  const credentials = raw.credentials === undefined ? {} : { credentials: raw.credentials };
  if (raw.regions !== undefined) {
    if (!isRecord(raw.regions) || !isRegion(raw.providerRegion)) return damaged('regions are not in the expected form');
    return {
      region: raw.region,
      providerRegion: raw.providerRegion,
      regions: raw.regions as PersistedState['regions'],
      ...credentials,
    };
  }
  if (!isRecord(raw.service) || raw.signer === undefined) return damaged('missing region, signer or service');
  return {
    region: raw.region,
    providerRegion: raw.region,
    regions: {
      [raw.region]: {
        signer: raw.signer,
        service: raw.service as unknown as RegionsSnapshot['regions'][string]['service'],
      },
    },
    ...credentials,
  };
}

/**
 * Starts an offline Cognito Identity service on `host:port` that the AWS SDK and CLI talk to with
 * an endpoint override, with STS (AWS query protocol) for what it issues on the same endpoint. State
 * lives in memory, and in `stateFile` when given: loaded at start, and every answer to a call that
 * changes state waits until the change is on disk (group commit, see {@link StateFileWriter}); a
 * failed write answers InternalErrorException and returns the state (every region) to what is on
 * disk. The state file is locked (`STATEFILE.lock`) until `stop()`.
 *
 * Every region is served at once: a signed call is answered by the region of its SigV4 credential
 * scope, an unsigned one by the region of the pool or identity it names (`region`, default
 * `us-east-1`, when it names none).
 *
 * @throws TypeError on bad options; Error when the state file is damaged (the file is left
 *   untouched), is locked by another live emulator (naming its pid and start time) or cannot be
 *   written, or when the port cannot be bound.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  checkOptions(options);
  const lock = options.stateFile === undefined ? undefined : await acquireStateLock(options.stateFile);
  try {
    return await startLocked(options, lock);
  } catch (err) {
    await lock?.release();
    throw err;
  }
}

async function startLocked(options: EmulatorOptions, lock: StateLock | undefined): Promise<RunningEmulator> {
  const clock: EmulatorClock = options.clock ?? Date;
  const now = (): number => clock.now();
  const host = options.host ?? '127.0.0.1';

  let saved: PersistedState | undefined;
  let onDisk: StateFileContent | undefined;
  if (options.stateFile !== undefined) {
    onDisk = readStateFile(options.stateFile);
    if (onDisk !== undefined) saved = persistedState(onDisk.data, options.stateFile);
  }
  const defaultRegion = options.region ?? saved?.region ?? 'us-east-1';
  const damaged = (err: unknown): Error =>
    new Error(
      `emulator state file ${options.stateFile ?? ''} is damaged (${(err as Error).message}); it was left untouched: fix or delete it`,
      { cause: err },
    );
  // Kept in the state file, so that credentials minted before a restart still sign requests after
  // it; one issuer for every region and STS.
  let credentials: CredentialIssuer;
  try {
    credentials =
      saved?.credentials === undefined ? new CredentialIssuer() : CredentialIssuer.fromJSON(saved.credentials);
  } catch (err) {
    throw damaged(err);
  }

  // Every region's state in memory; replaced by the state on disk when a write fails. Assigned
  // right below; the snapshot closure only runs after that.
  let regions: RegionalServices | undefined = undefined;
  const snapshot = (): PersistedState => ({
    region: defaultRegion,
    ...(regions as RegionalServices).snapshot(),
    credentials: credentials.toJSON(),
  });
  // The latest commit holding a change of each region, until it is over.
  const lastCommit = new Map<string, { promise: Promise<void>; settled: boolean }>();
  // What changed since the last commit started: the records its log entry holds.
  const tracker = options.stateFile === undefined ? undefined : new ChangeTracker();
  const writer =
    options.stateFile === undefined
      ? undefined
      : new StateFileWriter(options.stateFile, {
          snapshot,
          changes: () => tracker?.take(regions as RegionalServices),
          generation: onDisk?.generation ?? 0,
          ...(options.stateLogBytes === undefined ? {} : { logBytes: options.stateLogBytes }),
          onError: (_err, written) => {
            // Every change not on disk is refused to its caller: forget them all, in every region.
            tracker?.clear();
            if (written === undefined) return;
            regions = replay(persistedState(written.data, options.stateFile ?? ''), written.changes);
          },
        });
  const regionOptions: RegionalServicesOptions = {
    now,
    credentials,
    onChange: (change) => {
      if (tracker === undefined) return;
      tracker.note(change);
      const promise = writer?.schedule();
      if (promise === undefined) return;
      // The region's latest commit; commits run in order, and a failed one also refuses the one
      // scheduled during it: once this one is done, every earlier change of the region is on disk.
      const entry = { promise, settled: false };
      lastCommit.set(change.region, entry);
      const settle = (): void => {
        entry.settled = true;
      };
      promise.then(settle, settle);
    },
  };
  /** The regions of a snapshot with the logged changes since applied, in order. */
  const replay = (data: PersistedState, changes: readonly unknown[]): RegionalServices => {
    const r = RegionalServices.restore(regionOptions, data);
    for (const change of changes) r.apply(change as RegionsDelta);
    return r;
  };
  try {
    regions =
      saved === undefined
        ? await RegionalServices.create(regionOptions, defaultRegion)
        : replay(saved, onDisk?.changes ?? []);
  } catch (err) {
    throw damaged(err);
  }
  const current = (): RegionalServices => regions as RegionalServices;
  const allPools = (): PoolRecord[] =>
    current()
      .all()
      .flatMap((svc) => [...svc.listPools()]);

  const seeded: PoolInfo[] = [];
  for (const seed of options.seed ?? []) {
    const svc = await current().ensure(seed.region ?? defaultRegion);
    let pool = svc.listPools().find((p) => p.name === seed.name);
    if (pool === undefined) {
      const out = svc.handlers.CreateIdentityPool({
        IdentityPoolName: seed.name,
        AllowUnauthenticatedIdentities: seed.allowUnauthenticatedIdentities ?? false,
        ...(seed.allowClassicFlow === undefined ? {} : { AllowClassicFlow: seed.allowClassicFlow }),
        ...(seed.developerProviderName === undefined ? {} : { DeveloperProviderName: seed.developerProviderName }),
        ...(seed.supportedLoginProviders === undefined
          ? {}
          : { SupportedLoginProviders: { ...seed.supportedLoginProviders } }),
      });
      const iam = `arn:${arnPartition(svc.region)}:iam::${svc.accountId}:role/`;
      const roles = seed.roles ?? {
        authenticated: `${iam}${roleName(seed.name, 'Auth')}`,
        unauthenticated: `${iam}${roleName(seed.name, 'Unauth')}`,
      };
      svc.handlers.SetIdentityPoolRoles({ IdentityPoolId: out.IdentityPoolId, Roles: { ...roles } });
      pool = svc.listPools().find((p) => p.id === out.IdentityPoolId);
    }
    if (pool !== undefined) seeded.push(poolInfo(pool));
  }
  // Persist at once (the first commit writes a snapshot and starts an empty log), so that the
  // signing keys and seeded pools survive a restart before any change, and the log read at start
  // (perhaps ending in a record cut short) is replaced; an unwritable state file fails the start.
  if (writer !== undefined) {
    try {
      await writer.schedule();
    } catch (err) {
      await writer.close().catch(() => undefined);
      throw err;
    }
  }

  const faults = new FaultController(clock);
  const quotas = quotaLimiter(options.quotas);
  const sts = new StsService({
    credentials,
    now,
    tokens: {
      // A Cognito token of any region; its pool (the audience) is found in the region its id names.
      verify: (token) => current().verify(token),
      isCognitoIssuer,
      poolExists: (poolId) => current().ownerOf(poolId)?.state.pools.has(poolId) === true,
      poolsTrusted: (roleArn) => {
        const trust: PoolTrust[] = [];
        for (const p of allPools()) {
          if (p.roles.authenticated === roleArn) trust.push({ poolId: p.id, kind: 'authenticated' });
          if (p.roles.unauthenticated === roleArn) trust.push({ poolId: p.id, kind: 'unauthenticated' });
        }
        return trust;
      },
    },
  });

  const mint = (provider: string, subject: string, opts?: { expiresInSeconds?: number; audience?: string }): string => {
    let audience = opts?.audience;
    if (audience === undefined) {
      for (const p of allPools()) {
        const appId = p.supportedLoginProviders[provider];
        if (appId !== undefined) {
          audience = appId;
          break;
        }
      }
    }
    if (audience === undefined)
      throw new TypeError(`no identity pool supports the login provider ${JSON.stringify(provider)}`);
    return mintProviderToken(
      current().providerSigner,
      provider,
      subject,
      audience,
      opts?.expiresInSeconds ?? DEFAULT_PROVIDER_TOKEN_SECONDS,
      now(),
    );
  };

  const controlApi: ControlApi = {
    counters: () => faults.counters(),
    resetCounters: () => {
      faults.resetCounters();
    },
    setFault: (op, spec) => {
      faults.set(op, spec);
    },
    clearFaults: () => {
      faults.clear();
    },
    mintProviderToken: mint,
    pools: () => allPools().map(poolInfo),
  };

  // A call is answered once every change of its region made before it ended is on disk: its own,
  // and those it may have read (a call that read a record whose commit then fails must not be
  // acknowledged). With nothing of its region waiting for the disk, a read-only call goes at once.
  const durable = <T>(region: string, op: () => T): T | Promise<T> => {
    const out = op();
    const pending = lastCommit.get(region);
    return pending === undefined || pending.settled ? out : pending.promise.then(() => out);
  };
  let endpoint = '';
  const deps: ServerDeps = {
    // A getter: every call, including one whose body is still arriving, uses the current regions.
    get regions() {
      return current();
    },
    defaultRegion,
    ...(quotas === undefined ? {} : { quotas }),
    faults,
    now,
    jwks: () => current().jwks(),
    issuer: cognitoIssuer(defaultRegion),
    protocols: [awsQueryProtocol({ sts, faults, now })],
    ...(writer === undefined ? {} : { durable }),
    ...(options.strictSigV4 === undefined ? {} : { strictSigV4: options.strictSigV4 }),
    ...(options.controlEndpoint === false ? {} : { control: (req, res) => handleControl(req, res, controlApi) }),
  };
  const server: Server = createServer(createRequestHandler(deps, () => endpoint));
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // The state file's log is open since the first commit: close it (never leave a FileHandle to GC).
    await writer?.close().catch(() => undefined);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeAllConnections();
      await closed;
      try {
        // Every commit was waited for by the call whose change it holds, and a failed one was
        // answered (and undone) there: nothing is left to report. The log is folded into the
        // snapshot, so that the state file alone holds the state; if that fails, the log still does.
        await writer?.close().catch(() => undefined);
      } finally {
        await lock?.release();
      }
    })();
    return stopping;
  };

  return {
    endpoint,
    port,
    region: defaultRegion,
    pools: seeded,
    counters: () => controlApi.counters(),
    resetCounters: () => {
      controlApi.resetCounters();
    },
    setFault: (op, fault) => {
      controlApi.setFault(op, fault);
    },
    clearFaults: () => {
      controlApi.clearFaults();
    },
    mintProviderToken: mint,
    stop,
  };
}
