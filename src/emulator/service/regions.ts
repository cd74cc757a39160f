import type { CredentialIssuer } from '../session-token.js';
import { isRegion, TokenSigner, type VerifyResult } from '../tokens.js';
import { CognitoIdentityService } from './service.js';
import type { ServiceDelta, ServiceSnapshot, StateChange } from './state.js';

/** Most regions one emulator serves (AWS has about 35); past it a new region is refused. */
export const MAX_REGIONS = 64;

/** One region as persisted: its signing keys and its service state. */
export interface RegionSnapshot {
  signer: unknown;
  service: ServiceSnapshot;
}

/** Every region as persisted: region → its snapshot, and the region whose keys sign provider tokens. */
export interface RegionsSnapshot {
  providerRegion: string;
  regions: Record<string, RegionSnapshot>;
}

/** What one call changed in one region; `added` when the region itself is new (its keys). */
export interface RegionChange extends StateChange {
  readonly region: string;
  readonly added?: boolean;
}

/** One region's part of a logged commit: its keys when the region is new, and its changed records. */
export interface RegionDelta extends ServiceDelta {
  signer?: unknown;
}

/** A commit as the state file's log keeps it: region → its changed records. */
export interface RegionsDelta {
  regions: Record<string, RegionDelta>;
}

/** Options of {@link RegionalServices}. */
export interface RegionalServicesOptions {
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Called after every change of any region's state, and when a region is added, with what changed. */
  readonly onChange: (change: RegionChange) => void;
  /**
   * Mints the temporary credentials of GetCredentialsForIdentity in every region: one issuer, shared
   * with STS, so that STS recognises credentials minted in any region.
   */
  readonly credentials: CredentialIssuer;
  /** Most regions; default {@link MAX_REGIONS}. */
  readonly maxRegions?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The emulated account in every region: one {@link CognitoIdentityService} (with its own signing
 * keys, kid `<region>-<n>`) per region, created on the first signed call that names the region.
 * Pools and identities of one region are invisible from every other. Provider tokens (the stand-ins
 * for Facebook's, Google's, …) are global, as the providers are: one region's keys sign them and
 * every region accepts them.
 */
export class RegionalServices {
  readonly #options: RegionalServicesOptions;
  readonly #services = new Map<string, CognitoIdentityService>();
  readonly #pending = new Map<string, Promise<CognitoIdentityService>>();
  readonly #providerSigner: TokenSigner;
  readonly #providerRegion: string;

  private constructor(options: RegionalServicesOptions, providerRegion: string, providerSigner: TokenSigner) {
    this.#options = options;
    this.#providerRegion = providerRegion;
    this.#providerSigner = providerSigner;
  }

  /**
   * Restores every region of `snapshot`, or starts with `firstRegion` alone (whose keys then sign
   * provider tokens).
   * @throws Error naming the region when a saved region is damaged.
   */
  static async create(
    options: RegionalServicesOptions,
    firstRegion: string,
    snapshot?: RegionsSnapshot,
  ): Promise<RegionalServices> {
    if (snapshot === undefined) {
      const signer = await TokenSigner.create(firstRegion);
      const regions = new RegionalServices(options, firstRegion, signer);
      regions.#add(firstRegion, signer);
      return regions;
    }
    return RegionalServices.restore(options, snapshot);
  }

  /**
   * Every region of `snapshot`, at once (no key is generated): what a failed write of the state file
   * returns the emulator to.
   * @throws Error naming the region when a saved region is damaged.
   */
  static restore(options: RegionalServicesOptions, snapshot: RegionsSnapshot): RegionalServices {
    if (!isRecord(snapshot.regions) || !isRegion(snapshot.providerRegion)) {
      throw new Error('the saved regions are not in the expected form');
    }
    const entries = Object.entries(snapshot.regions);
    const signers = new Map<string, TokenSigner>();
    for (const [region, saved] of entries) {
      if (!isRegion(region) || !isRecord(saved)) throw new Error(`saved region ${JSON.stringify(region)} is damaged`);
      const signer = TokenSigner.fromJSON(saved.signer);
      if (signer.region !== region) throw new Error(`saved region ${region} holds the keys of ${signer.region}`);
      signers.set(region, signer);
    }
    const providerSigner = signers.get(snapshot.providerRegion);
    if (providerSigner === undefined)
      throw new Error(`the provider-token region ${snapshot.providerRegion} is missing`);
    const regions = new RegionalServices(options, snapshot.providerRegion, providerSigner);
    for (const [region, saved] of entries) {
      regions.#add(region, signers.get(region) as TokenSigner, saved.service);
    }
    return regions;
  }

  /** The region's service if it has been used, else undefined (nothing can exist there yet). */
  get(region: string): CognitoIdentityService | undefined {
    return this.#services.get(region);
  }

  /**
   * The region's service, created (with fresh keys) on first use; concurrent first calls share one.
   * @throws RangeError when `region` is not a region or would be one past the limit.
   */
  ensure(region: string): Promise<CognitoIdentityService> {
    const known = this.#services.get(region);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.#pending.get(region);
    if (pending === undefined) {
      if (!isRegion(region)) return Promise.reject(new RangeError(`${JSON.stringify(region)} is not a region`));
      if (this.#services.size + this.#pending.size >= (this.#options.maxRegions ?? MAX_REGIONS)) {
        return Promise.reject(
          new RangeError(`the emulator serves at most ${String(this.#options.maxRegions ?? MAX_REGIONS)} regions`),
        );
      }
      pending = TokenSigner.create(region).then(
        (signer) => {
          this.#pending.delete(region);
          const svc = this.#add(region, signer);
          this.#options.onChange({ region, added: true });
          return svc;
        },
        (err: unknown) => {
          this.#pending.delete(region);
          throw err;
        },
      );
      this.#pending.set(region, pending);
    }
    return pending;
  }

  /**
   * The region of an id (`REGION:…`, as pool and identity ids are) when that region has been used.
   */
  ownerOf(id: string): CognitoIdentityService | undefined {
    const colon = id.indexOf(':');
    return colon < 0 ? undefined : this.#services.get(id.slice(0, colon));
  }

  /**
   * Checks a Cognito OpenID token of any region (see {@link TokenSigner.verify}): kids are unique
   * across regions, so at most one region's keys know the token's kid. Never throws.
   */
  verify(token: string): VerifyResult {
    let refused: VerifyResult | undefined;
    for (const svc of this.#services.values()) {
      const v = svc.state.signer.verify(token);
      if (v.ok) return v;
      // A region that knows the kid says the most (a bad signature); "kid unknown" is said by all.
      if (refused === undefined || v.reason !== 'token kid is unknown') refused = v;
      if (v.reason !== 'token kid is unknown') break;
    }
    return refused ?? { ok: false, reason: 'token kid is unknown', signed: true };
  }

  /** Every region's service, in the order the regions were first used. */
  all(): CognitoIdentityService[] {
    return [...this.#services.values()];
  }

  /** Signs and verifies provider tokens, for every region. */
  get providerSigner(): TokenSigner {
    return this.#providerSigner;
  }

  /** The public keys of every region, as one JWKS (kids are unique across regions). */
  jwks(): { keys: object[] } {
    return { keys: this.all().flatMap((s) => s.state.signer.jwks().keys) };
  }

  /** Every region as plain JSON. */
  snapshot(): RegionsSnapshot {
    const regions: Record<string, RegionSnapshot> = {};
    for (const [region, svc] of this.#services) {
      regions[region] = { signer: svc.state.signer.toJSON(), service: svc.snapshot() };
    }
    return { providerRegion: this.#providerRegion, regions };
  }

  /**
   * Applies a commit read back from the state file's log (see {@link ChangeTracker.take}): a region
   * new in it is added with its saved keys, then each region's records are applied.
   * @throws Error naming the region when the change is not in the expected form.
   */
  apply(delta: RegionsDelta): void {
    if (!isRecord(delta) || !isRecord(delta.regions)) throw new Error('a logged change is not in the expected form');
    for (const [region, d] of Object.entries(delta.regions)) {
      if (!isRecord(d)) throw new Error(`a logged change of region ${JSON.stringify(region)} is damaged`);
      let svc = this.#services.get(region);
      if (svc === undefined) {
        if (!isRegion(region) || d.signer === undefined) {
          throw new Error(`a logged change names region ${JSON.stringify(region)}, which is not saved`);
        }
        const signer = TokenSigner.fromJSON(d.signer);
        if (signer.region !== region) throw new Error(`logged region ${region} holds the keys of ${signer.region}`);
        svc = this.#add(region, signer);
      }
      svc.state.apply(d);
    }
  }

  #add(region: string, signer: TokenSigner, saved?: ServiceSnapshot): CognitoIdentityService {
    const svc = new CognitoIdentityService(
      {
        region,
        signer,
        providerSigner: this.#providerSigner,
        now: this.#options.now,
        onChange: (change) => {
          this.#options.onChange({ ...change, region });
        },
        credentials: this.#options.credentials,
      },
      saved,
    );
    this.#services.set(region, svc);
    return svc;
  }
}
