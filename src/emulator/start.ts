import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultController } from './faults.js';
import { awsQueryProtocol } from './http/aws-query.js';
import { handleControl, type ControlApi } from './http/control.js';
import { createRequestHandler, type ServerDeps } from './http/server.js';
import { checkOptions } from './options.js';
import { persistedState, type PersistedState } from './persisted-state.js';
import { quotaLimiter } from './quotas.js';
import { poolInfo, seedPools } from './seed.js';
import { ServiceError } from './service-error.js';
import { ChangeTracker } from './service/change-tracker.js';
import {
  RegionalServices,
  type RegionChange,
  type RegionalServicesOptions,
  type RegionsDelta,
} from './service/regions.js';
import type { PoolRecord } from './service/state.js';
import { CredentialIssuer } from './session-token.js';
import { readStateFile, type StateFileContent } from './state-file.js';
import { StateFileWriter } from './state-file-writer.js';
import { acquireStateLock, type StateLock } from './state-lock.js';
import { StsService, type PoolTrust } from './sts/sts-service.js';
import { cognitoIssuer, isCognitoIssuer, mintProviderToken } from './tokens.js';
import type { EmulatorOptions, PoolInfo, RunningEmulator } from './types.js';

const DEFAULT_PROVIDER_TOKEN_SECONDS = 3600;

/**
 * Starts an offline Cognito Identity service on `host:port` that the AWS SDK and CLI talk to with
 * an endpoint override, with STS (AWS query protocol) for what it issues on the same endpoint. State
 * lives in memory, and in `stateFile` when given: loaded at start, and every answer waits until
 * each change of its region made before it ended is on disk (group commit, see
 * {@link StateFileWriter}); a failed write answers InternalErrorException and returns the state
 * (every region) to what is on disk. The state file is locked (`STATEFILE.lock`) until `stop()`.
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
    return await Emulator.start(options, lock);
  } catch (err) {
    await lock?.release();
    throw err;
  }
}

/** The latest commit holding a change of a region, and whether it is over. */
interface RegionCommit {
  readonly promise: Promise<void>;
  settled: boolean;
}

/**
 * One running emulator: every region's state, the state file's writer and the commits under way,
 * the HTTP server, and what `RunningEmulator` offers over them.
 */
class Emulator {
  readonly #options: EmulatorOptions;
  readonly #lock: StateLock | undefined;
  readonly #now: () => number;
  readonly #defaultRegion: string;
  /** Kept in the state file, so that credentials minted before a restart still sign requests after it. */
  readonly #credentials: CredentialIssuer;
  readonly #regionOptions: RegionalServicesOptions;
  /** Every region's state in memory; replaced by the state on disk when a write fails. */
  #regions: RegionalServices | undefined;
  /** What changed since the last commit started: the records its log entry holds. */
  readonly #tracker: ChangeTracker | undefined;
  readonly #writer: StateFileWriter | undefined;
  /** The latest commit holding a change of each region, by region. */
  readonly #commits = new Map<string, RegionCommit>();
  readonly #faults: FaultController;
  #server: Server | undefined;
  #endpoint = '';
  #stopping: Promise<void> | undefined;

  private constructor(
    options: EmulatorOptions,
    lock: StateLock | undefined,
    saved: PersistedState | undefined,
    onDisk: StateFileContent | undefined,
  ) {
    this.#options = options;
    this.#lock = lock;
    const clock = options.clock ?? Date;
    this.#now = () => clock.now();
    this.#defaultRegion = options.region ?? saved?.region ?? 'us-east-1';
    try {
      this.#credentials =
        saved?.credentials === undefined ? new CredentialIssuer() : CredentialIssuer.fromJSON(saved.credentials);
    } catch (err) {
      throw this.#damaged(err);
    }
    this.#faults = new FaultController(clock);
    this.#regionOptions = {
      now: this.#now,
      credentials: this.#credentials,
      onChange: (change) => {
        this.#onChange(change);
      },
    };
    const file = options.stateFile;
    this.#tracker = file === undefined ? undefined : new ChangeTracker();
    this.#writer =
      file === undefined
        ? undefined
        : new StateFileWriter(file, {
            snapshot: () => this.#snapshot(),
            changes: () => this.#tracker?.take(this.#current()),
            generation: onDisk?.generation ?? 0,
            ...(options.stateLogBytes === undefined ? {} : { logBytes: options.stateLogBytes }),
            onError: (_err, written) => {
              // Every change not on disk is refused to its caller: forget them all, in every region.
              this.#tracker?.clear();
              if (written === undefined) return;
              this.#regions = this.#replay(persistedState(written.data, file), written.changes);
            },
          });
  }

  static async start(options: EmulatorOptions, lock: StateLock | undefined): Promise<RunningEmulator> {
    const onDisk = options.stateFile === undefined ? undefined : readStateFile(options.stateFile);
    const saved = onDisk === undefined ? undefined : persistedState(onDisk.data, options.stateFile ?? '');
    const emu = new Emulator(options, lock, saved, onDisk);
    try {
      emu.#regions =
        saved === undefined
          ? await RegionalServices.create(emu.#regionOptions, emu.#defaultRegion)
          : emu.#replay(saved, onDisk?.changes ?? []);
    } catch (err) {
      throw emu.#damaged(err);
    }
    try {
      const seeded = await seedPools(emu.#current(), options.seed ?? [], emu.#defaultRegion);
      // Persist at once (the first commit writes a snapshot and starts an empty log), so that the
      // signing keys and seeded pools survive a restart before any change, and the log read at start
      // (perhaps ending in a record cut short) is replaced; an unwritable state file fails the start.
      await emu.#writer?.schedule();
      await emu.#listen();
      return emu.#running(seeded);
    } catch (err) {
      // The state file's log is open since the first commit: close it (never leave a FileHandle to GC).
      await emu.#writer?.close().catch(() => undefined);
      throw err;
    }
  }

  #current(): RegionalServices {
    if (this.#regions === undefined) throw new Error('the emulator has no regions yet');
    return this.#regions;
  }

  #damaged(err: unknown): Error {
    return new Error(
      `emulator state file ${this.#options.stateFile ?? ''} is damaged (${(err as Error).message}); it was left untouched: fix or delete it`,
      { cause: err },
    );
  }

  #snapshot(): PersistedState {
    return { region: this.#defaultRegion, ...this.#current().snapshot(), credentials: this.#credentials.toJSON() };
  }

  /** The regions of a snapshot with the logged changes since applied, in order. */
  #replay(data: PersistedState, changes: readonly unknown[]): RegionalServices {
    const r = RegionalServices.restore(this.#regionOptions, data);
    for (const change of changes) r.apply(change as RegionsDelta);
    return r;
  }

  #allPools(): PoolRecord[] {
    return this.#current()
      .all()
      .flatMap((svc) => [...svc.listPools()]);
  }

  #onChange(change: RegionChange): void {
    if (this.#tracker === undefined || this.#writer === undefined) return;
    this.#tracker.note(change);
    // The region's latest commit; commits run in order, and a failed one also refuses the one
    // scheduled during it: once this one is done, every earlier change of the region is on disk.
    const entry: RegionCommit = { promise: this.#writer.schedule(), settled: false };
    this.#commits.set(change.region, entry);
    const settle = (): void => {
      entry.settled = true;
    };
    entry.promise.then(settle, settle);
  }

  /**
   * A call is answered once every change of its region (of every region when `region` is
   * undefined: STS reads them all) made before it ended is on disk: its own, and those it may have
   * read (a call that read a record whose commit then fails must not be acknowledged). That holds
   * for an error answer too: a ServiceError thrown by `op` is thrown once those commits are done.
   * With nothing waiting for the disk, the call goes at once. The promise rejects with the error of
   * a failed commit (never a ServiceError) when one fails.
   */
  #durable<T>(region: string | undefined, op: () => T): T | Promise<T> {
    let out: T | undefined;
    let refused: ServiceError | undefined;
    try {
      out = op();
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      refused = err;
    }
    const entries = region === undefined ? [...this.#commits.values()] : [this.#commits.get(region)];
    const pending = entries.flatMap((e) => (e === undefined || e.settled ? [] : [e.promise]));
    const answer = (): T => {
      if (refused !== undefined) throw refused;
      return out as T;
    };
    return pending.length === 0 ? answer() : Promise.all(pending).then(answer);
  }

  #sts(): StsService {
    return new StsService({
      credentials: this.#credentials,
      now: this.#now,
      tokens: {
        // A Cognito token of any region; its pool (the audience) is found in the region its id names.
        verify: (token) => this.#current().verify(token),
        isCognitoIssuer,
        poolExists: (poolId) => this.#current().ownerOf(poolId)?.state.pools.has(poolId) === true,
        poolsTrusted: (roleArn) => {
          const trust: PoolTrust[] = [];
          for (const p of this.#allPools()) {
            if (p.roles.authenticated === roleArn) trust.push({ poolId: p.id, kind: 'authenticated' });
            if (p.roles.unauthenticated === roleArn) trust.push({ poolId: p.id, kind: 'unauthenticated' });
            // A role a rule maps to trusts the pool's authenticated identities, as the developer
            // guide's "Creating roles for role mapping" has it (a Token mapping's roles come from
            // claims the pool does not hold: those stay roles of no pool).
            const ruled = Object.values(p.roleMappings).some((m) =>
              (m.RulesConfiguration?.Rules ?? []).some((r) => r.RoleARN === roleArn),
            );
            if (ruled && p.roles.authenticated !== roleArn) trust.push({ poolId: p.id, kind: 'authenticated' });
          }
          return trust;
        },
      },
    });
  }

  #mint(provider: string, subject: string, opts?: { expiresInSeconds?: number; audience?: string }): string {
    let audience = opts?.audience;
    if (audience === undefined) {
      for (const p of this.#allPools()) {
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
      this.#current().providerSigner,
      provider,
      subject,
      audience,
      opts?.expiresInSeconds ?? DEFAULT_PROVIDER_TOKEN_SECONDS,
      this.#now(),
    );
  }

  #control(): ControlApi {
    const faults = this.#faults;
    return {
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
      mintProviderToken: (provider, subject, opts) => this.#mint(provider, subject, opts),
      pools: () => this.#allPools().map(poolInfo),
    };
  }

  async #listen(): Promise<void> {
    const options = this.#options;
    const host = options.host ?? '127.0.0.1';
    const quotas = quotaLimiter(options.quotas);
    const control = this.#control();
    const current = (): RegionalServices => this.#current();
    const deps: ServerDeps = {
      // A getter: every call, including one whose body is still arriving, uses the current regions.
      get regions() {
        return current();
      },
      defaultRegion: this.#defaultRegion,
      ...(quotas === undefined ? {} : { quotas }),
      faults: this.#faults,
      now: this.#now,
      jwks: () => this.#current().jwks(),
      issuer: cognitoIssuer(this.#defaultRegion),
      protocols: [
        awsQueryProtocol({
          sts: this.#sts(),
          faults: this.#faults,
          now: this.#now,
          ...(this.#writer === undefined ? {} : { durable: (op) => this.#durable(undefined, op) }),
        }),
      ],
      ...(this.#writer === undefined ? {} : { durable: (region, op) => this.#durable(region, op) }),
      ...(options.strictSigV4 === undefined ? {} : { strictSigV4: options.strictSigV4 }),
      ...(options.controlEndpoint === false ? {} : { control: (req, res) => handleControl(req, res, control) }),
    };
    const server = createServer(createRequestHandler(deps, () => this.#endpoint));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const port = (server.address() as AddressInfo).port;
    this.#endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  #stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const server = this.#server;
      if (server !== undefined) {
        const closed = new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
        server.closeAllConnections();
        await closed;
      }
      try {
        // Every commit was waited for by the calls whose changes it holds, and a failed one was
        // answered (and undone) there: nothing is left to report. The log is folded into the
        // snapshot, so that the state file alone holds the state; if that fails, the log still does.
        await this.#writer?.close().catch(() => undefined);
      } finally {
        await this.#lock?.release();
      }
    })();
    return this.#stopping;
  }

  #running(seeded: PoolInfo[]): RunningEmulator {
    const control = this.#control();
    return {
      endpoint: this.#endpoint,
      port: (this.#server?.address() as AddressInfo).port,
      region: this.#defaultRegion,
      pools: seeded,
      counters: () => control.counters(),
      resetCounters: () => {
        control.resetCounters();
      },
      setFault: (op, fault) => {
        control.setFault(op, fault);
      },
      clearFaults: () => {
        control.clearFaults();
      },
      mintProviderToken: (provider, subject, opts) => this.#mint(provider, subject, opts),
      stop: () => this.#stop(),
    };
  }
}
