// A recording fake of the Cognito Identity client for the broker's unit tests: a tiny in-memory
// model of the developer flow, with gates (hold calls until released), queued failures and hangs.
import type { CognitoSendClient } from '../../src/broker/options.js';
import type { Clock } from '../../src/broker/clock.js';

export const POOL_ID = 'us-east-1:11111111-2222-3333-4444-555555555555';
export const DEV_PROVIDER = 'login.example.app';
export const LOGINS_KEY = 'cognito-identity.amazonaws.com';

/** One call the fake received. */
export interface RecordedCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly signal: AbortSignal | undefined;
}

type Handler = (input: Record<string, unknown>) => unknown;

/** An error shaped like an AWS SDK v3 service exception. */
export function sdkError(name: string, message = `${name} from the fake`, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
  });
}

/** An error shaped like a Node network error. */
export function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, errno: -111, syscall: 'connect' });
}

function b64(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

/** An unsigned JWT with the given claims (the broker never verifies; it reads times only). */
export function fakeJwt(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'RS512', typ: 'JWS', kid: 'us-east-1-1' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

interface Gate {
  readonly promise: Promise<void>;
  readonly release: () => void;
}

/**
 * The fake. `client` is what the broker gets. Server time is `clock.now() + serverOffsetMs`.
 */
export class FakeCognito {
  readonly calls: RecordedCall[] = [];
  /** Cognito's clock minus the broker's, ms (positive: Cognito is ahead). */
  serverOffsetMs = 0;
  /** Lifetime of credentials, seconds. */
  credentialsSeconds = 3600;
  /** userId → identityId */
  readonly users = new Map<string, string>();
  /** identityId → linked public provider names */
  readonly logins = new Map<string, Set<string>>();
  readonly disabled = new Set<string>();
  readonly guests = new Set<string>();
  /** Overrides per operation. */
  readonly handlers: Partial<Record<string, Handler>> = {};
  readonly #failures = new Map<string, unknown[]>();
  readonly #gates = new Map<string, Gate>();
  readonly #hung = new Set<string>();
  #seq = 0;
  #secretSeq = 0;
  /** Every secret value handed out (tokens, secret keys, session tokens), for log scans. */
  readonly secrets: string[] = [];

  constructor(readonly clock: Clock) {}

  readonly client: CognitoSendClient = {
    // The SDK's send() is heavily overloaded; the fake implements the one shape the broker uses.
    send: ((command: { input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) =>
      this.#send(command, options?.abortSignal)) as unknown as CognitoSendClient['send'],
  };

  /** How many calls of `operation` (e.g. `GetOpenIdTokenForDeveloperIdentity`) the fake received. */
  count(operation: string): number {
    return this.calls.filter((c) => c.operation === operation).length;
  }

  /** Inputs of the calls of `operation`, in order. */
  inputs(operation: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.operation === operation).map((c) => c.input);
  }

  /** The next calls of `operation` throw these errors, one each, in order. */
  failNext(operation: string, ...errors: unknown[]): void {
    this.#failures.set(operation, [...(this.#failures.get(operation) ?? []), ...errors]);
  }

  /** Calls of `operation` wait (after being recorded) until the returned function is called. */
  hold(operation: string): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gate = {
      promise,
      release: () => {
        this.#gates.delete(operation);
        release();
      },
    };
    this.#gates.set(operation, gate);
    return gate.release;
  }

  /** Calls of `operation` never settle and ignore their abort signal. */
  hang(operation: string): void {
    this.#hung.add(operation);
  }

  serverNow(): number {
    return this.clock.now() + this.serverOffsetMs;
  }

  #secret(prefix: string): string {
    this.#secretSeq += 1;
    const s = `${prefix}${String(this.#secretSeq).padStart(6, '0')}SECRET`;
    this.secrets.push(s);
    return s;
  }

  #identityFor(userId: string): string {
    let id = this.users.get(userId);
    if (id === undefined) {
      this.#seq += 1;
      id = `us-east-1:00000000-0000-0000-0000-${String(this.#seq).padStart(12, '0')}`;
      this.users.set(userId, id);
    }
    return id;
  }

  #token(identityId: string, durationSeconds: number): string {
    const iat = Math.floor(this.serverNow() / 1000);
    const token = fakeJwt({
      iss: 'https://cognito-identity.amazonaws.com',
      aud: POOL_ID,
      sub: identityId,
      iat,
      exp: iat + durationSeconds,
      nonce: this.#secret('tok'),
    });
    this.secrets.push(token);
    return token;
  }

  async #send(command: { input: Record<string, unknown> }, signal: AbortSignal | undefined): Promise<unknown> {
    const operation = command.constructor.name.replace(/Command$/, '');
    const input = structuredClone(command.input);
    this.calls.push({ operation, input, signal });
    if (this.#hung.has(operation)) return new Promise(() => undefined);
    const gate = this.#gates.get(operation);
    if (gate !== undefined) await gate.promise;
    const failures = this.#failures.get(operation);
    if (failures !== undefined && failures.length > 0) throw failures.shift();
    const handler = this.handlers[operation];
    if (handler !== undefined) return handler(input);
    return this.#default(operation, input);
  }

  #default(operation: string, input: Record<string, unknown>): unknown {
    const logins = (input.Logins ?? {}) as Record<string, string>;
    switch (operation) {
      case 'GetOpenIdTokenForDeveloperIdentity': {
        const userId = logins[DEV_PROVIDER];
        if (userId === undefined) throw sdkError('InvalidParameterException', 'no developer login');
        let identityId = input.IdentityId as string | undefined;
        if (identityId !== undefined) {
          if (this.disabled.has(identityId))
            throw sdkError('NotAuthorizedException', `Access to Identity '${identityId}' is forbidden.`);
          const owner = this.users.get(userId);
          if (owner !== undefined && owner !== identityId) {
            throw sdkError('DeveloperUserAlreadyRegisteredException', 'registered elsewhere');
          }
          this.users.set(userId, identityId);
          this.guests.delete(identityId);
        } else {
          identityId = this.#identityFor(userId);
        }
        const linked = this.logins.get(identityId) ?? new Set<string>();
        for (const provider of Object.keys(logins)) if (provider !== DEV_PROVIDER) linked.add(provider);
        this.logins.set(identityId, linked);
        return {
          IdentityId: identityId,
          Token: this.#token(identityId, (input.TokenDuration as number | undefined) ?? 900),
        };
      }
      case 'GetCredentialsForIdentity': {
        const identityId = input.IdentityId as string;
        if (this.disabled.has(identityId))
          throw sdkError('NotAuthorizedException', `Access to Identity '${identityId}' is forbidden.`);
        const cognitoToken = logins[LOGINS_KEY];
        if (typeof cognitoToken === 'string') {
          const claims = JSON.parse(Buffer.from(cognitoToken.split('.')[1] ?? '', 'base64url').toString()) as {
            exp: number;
            sub: string;
          };
          if (claims.exp * 1000 <= this.serverNow())
            throw sdkError('NotAuthorizedException', 'Invalid login token. Token expired.');
          if (claims.sub !== identityId)
            throw sdkError('NotAuthorizedException', 'Invalid login token. The token is for another identity.');
        } else if (!this.guests.has(identityId)) {
          throw sdkError('NotAuthorizedException', "Logins don't match.");
        }
        return {
          IdentityId: identityId,
          Credentials: {
            AccessKeyId: `ASIA${String(this.calls.length).padStart(12, '0')}`,
            SecretKey: this.#secret('sk'),
            SessionToken: this.#secret('st'),
            Expiration: new Date(this.serverNow() + this.credentialsSeconds * 1000),
          },
        };
      }
      case 'GetId': {
        this.#seq += 1;
        const id = `us-east-1:99999999-0000-0000-0000-${String(this.#seq).padStart(12, '0')}`;
        this.guests.add(id);
        return { IdentityId: id };
      }
      case 'DescribeIdentity': {
        const id = input.IdentityId as string;
        const linked = [...(this.logins.get(id) ?? [])];
        const isDev = [...this.users.values()].includes(id);
        return { IdentityId: id, Logins: isDev ? [DEV_PROVIDER, ...linked] : linked, CreationDate: new Date(0) };
      }
      case 'LookupDeveloperIdentity': {
        if (typeof input.DeveloperUserIdentifier === 'string') {
          const id = this.users.get(input.DeveloperUserIdentifier);
          if (id === undefined)
            throw sdkError(
              'ResourceNotFoundException',
              'The developer user identifier was not found in the identity pool.',
            );
          return { IdentityId: id, DeveloperUserIdentifierList: [input.DeveloperUserIdentifier] };
        }
        const id = input.IdentityId as string;
        const users = [...this.users.entries()]
          .filter(([, v]) => v === id)
          .map(([k]) => k)
          .sort();
        const start = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
        const max = (input.MaxResults as number | undefined) ?? 60;
        const page = users.slice(start, start + max);
        return {
          IdentityId: id,
          DeveloperUserIdentifierList: page,
          ...(start + max < users.length ? { NextToken: String(start + max) } : {}),
        };
      }
      case 'MergeDeveloperIdentities': {
        const src = this.users.get(input.SourceUserIdentifier as string);
        const dst = this.users.get(input.DestinationUserIdentifier as string);
        if (src === undefined || dst === undefined) throw sdkError('ResourceNotFoundException', 'user not found');
        for (const [user, id] of this.users) if (id === src) this.users.set(user, dst);
        this.disabled.add(src);
        return { IdentityId: dst };
      }
      case 'UnlinkIdentity': {
        const id = input.IdentityId as string;
        for (const p of input.LoginsToRemove as string[]) this.logins.get(id)?.delete(p);
        return {};
      }
      case 'UnlinkDeveloperIdentity': {
        this.users.delete(input.DeveloperUserIdentifier as string);
        return {};
      }
      default:
        throw sdkError('UnknownOperationException', `fake has no ${operation}`);
    }
  }
}
