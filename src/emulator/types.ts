/** A source of time for the emulator, epoch milliseconds. */
export interface EmulatorClock {
  now(): number;
}

/** Access keys the emulator accepts in strict SigV4 mode. */
export interface EmulatorCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A pool to create at start (if one with that name does not exist yet in the state file). */
export interface SeedPool {
  /** IdentityPoolName. */
  readonly name: string;
  /** The region to create it in. Default: the emulator's `region`. */
  readonly region?: string;
  /** DeveloperProviderName. */
  readonly developerProviderName?: string;
  /** Allow guests. Default false. */
  readonly allowUnauthenticatedIdentities?: boolean;
  /** AllowClassicFlow (GetOpenIdToken is refused when false). Default: not set, which allows it. */
  readonly allowClassicFlow?: boolean;
  /** SupportedLoginProviders, e.g. `{ 'graph.facebook.com': 'app-id' }`. */
  readonly supportedLoginProviders?: Readonly<Record<string, string>>;
  /** Role ARNs. Default: generated `authenticated` and `unauthenticated` role ARNs. */
  readonly roles?: Readonly<Record<string, string>>;
}

/** Options of `startEmulator()`. */
export interface EmulatorOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port. Default 0 (any free port; read it back from `endpoint`). */
  readonly port?: number;
  /**
   * The region of unsigned calls that name no pool or identity of another region, and of seeded
   * pools. Every region is served: a signed call goes to its credential scope's region, an unsigned
   * one to the region of the id it names. Default: the state file's, else `us-east-1`.
   */
  readonly region?: string;
  /**
   * JSON file that keeps pools, identities and signing keys across restarts. Every answer to a call
   * that changes state waits until the change is on disk: appended to the log beside it
   * (`STATEFILE.log`) and fdatasync'd, one append shared by concurrent calls; the log is folded into
   * a new snapshot (written atomically) once it grows past {@link stateLogBytes}, at start and at
   * `stop()`. A failed write answers InternalErrorException and the change is not made. The file is
   * locked (`STATEFILE.lock`) for this emulator until `stop()`; a second one on it fails to start.
   */
  readonly stateFile?: string;
  /**
   * With a state file: the log is folded into a new snapshot once it is larger than both this many
   * bytes and the snapshot. Default 8 MiB (8388608).
   */
  readonly stateLogBytes?: number;
  /** Pools to create at start. */
  readonly seed?: readonly SeedPool[];
  /** Verify SigV4 signatures against these keys; without them only the header's presence is checked. */
  readonly strictSigV4?: readonly EmulatorCredentials[];
  /** Clock. Default `Date`. */
  readonly clock?: EmulatorClock;
  /** Serve the `/__emulator/*` control endpoint (loopback peers only). Default true. */
  readonly controlEndpoint?: boolean;
  /**
   * `aws`: enforce the service's documented default rate quotas per region (GetOpenIdTokenForDeveloperIdentity
   * 50/s, GetCredentialsForIdentity 200/s, GetOpenIdToken 200/s, GetId 25/s, ListIdentities 5/s,
   * DeleteIdentities 10/s), answering TooManyRequestsException past them. Default `none`.
   */
  readonly quotas?: 'aws' | 'none';
}

/** A fault to inject for one operation (or `*` for all). */
export interface FaultSpec {
  /** Throttle past this many calls per second (TooManyRequestsException). */
  readonly throttleRps?: number;
  /** Delay each response by this many milliseconds. */
  readonly latencyMs?: number;
  /** Fail with this modelled error name, e.g. `InternalErrorException`. */
  readonly error?: string;
  /** With `error`: fail only the next N calls. */
  readonly count?: number;
  /** With `error`: fail this fraction (0–1) of calls. Default 1 when `count` is not set. */
  readonly rate?: number;
}

/** What a seeded or created pool looks like to tests. */
export interface PoolInfo {
  readonly identityPoolId: string;
  readonly identityPoolName: string;
  readonly developerProviderName?: string;
  readonly roles: Readonly<Record<string, string>>;
}

/** A running emulator, from `startEmulator()`. */
export interface RunningEmulator {
  /** `http://127.0.0.1:PORT`. Pass as `endpoint` to the SDK or `--endpoint-url` to the CLI. */
  readonly endpoint: string;
  readonly port: number;
  /** The default region (see {@link EmulatorOptions.region}). */
  readonly region: string;
  /** The pools created from `seed` (or found in the state file), in seed order. */
  readonly pools: readonly PoolInfo[];
  /** Calls received per operation (including failed and throttled ones). */
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Sets the fault for an operation name, or `*` for all; `null` clears it. */
  setFault(operation: string, fault: FaultSpec | null): void;
  clearFaults(): void;
  /**
   * Mints a provider token that the emulator accepts for `provider` (a pool's supported login
   * provider, e.g. `graph.facebook.com`) and `subject`. Tokens not minted here are refused.
   */
  mintProviderToken(
    provider: string,
    subject: string,
    options?: {
      expiresInSeconds?: number;
      /** The app id (`aud`); default: the one the first pool supporting `provider` configured. */
      audience?: string;
    },
  ): string;
  /** Stops listening and closes every connection. Idempotent. */
  stop(): Promise<void>;
}
