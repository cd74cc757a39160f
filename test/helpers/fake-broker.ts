import { randomUUID } from 'node:crypto';
import type { Broker, IdentityCredentials, IdentityDescription, IdentityToken } from '../../src/broker/types.js';
import { BrokerError } from '../../src/errors.js';

/** An in-memory {@link Broker} for middleware tests: records calls, can fail the next call of a method. */
export interface FakeBroker extends Broker {
  readonly calls: Record<string, number>;
  failNext(method: keyof Broker, err: Error): void;
}

/** Creates a fresh fake broker (its own identities, users and counters). */
export function createFakeBroker(now: () => number = Date.now): FakeBroker {
  const region = 'us-east-1';
  const identityPoolId = `${region}:00000000-0000-4000-8000-000000000001`;
  const userIdentity = new Map<string, string>();
  const logins = new Map<string, Map<string, string>>(); // identity -> provider -> subject token
  const guests = new Set<string>();
  const calls: Record<string, number> = {};
  const failures = new Map<string, Error>();

  function enter(method: string): void {
    calls[method] = (calls[method] ?? 0) + 1;
    const f = failures.get(method);
    if (f !== undefined) {
      failures.delete(method);
      throw f;
    }
  }
  function identityOf(userId: string): string {
    let id = userIdentity.get(userId);
    if (id === undefined) {
      id = `${region}:${randomUUID()}`;
      userIdentity.set(userId, id);
      logins.set(id, new Map());
    }
    return id;
  }
  function describe(id: string): IdentityDescription {
    return { identityId: id, logins: [...(logins.get(id)?.keys() ?? [])] };
  }
  function creds(identityId: string): IdentityCredentials {
    return {
      identityId,
      accessKeyId: 'ASIAFAKE' + identityId.slice(-8).toUpperCase(),
      secretAccessKey: 'fake-secret-' + randomUUID(),
      sessionToken: 'fake-session-' + randomUUID(),
      expiration: now() + 3_600_000,
    };
  }
  function token(userId: string): IdentityToken {
    return {
      identityId: identityOf(userId),
      token: 'eyJfake.' + Buffer.from(userId).toString('base64url') + '.sig',
      expiresAt: now() + 900_000,
      identityPoolId,
      loginsKey: 'cognito-identity.amazonaws.com',
    };
  }

  const broker: FakeBroker = {
    identityPoolId,
    region,
    loginsKey: 'cognito-identity.amazonaws.com',
    calls,
    failNext(method, err) {
      failures.set(method, err);
    },
    getToken(userId) {
      enter('getToken');
      return Promise.resolve(token(userId));
    },
    getCredentials(userId) {
      enter('getCredentials');
      return Promise.resolve(creds(identityOf(userId)));
    },
    credentialProvider() {
      throw new Error('not in the fake');
    },
    getScopedCredentials(userId) {
      enter('getScopedCredentials');
      return Promise.resolve(creds(identityOf(userId)));
    },
    scopedCredentialProvider() {
      throw new Error('not in the fake');
    },
    linkLogin(userId, provider, providerToken) {
      enter('linkLogin');
      const id = identityOf(userId);
      for (const [other, m] of logins) {
        if (other !== id && m.get(provider) === providerToken) {
          return Promise.reject(new BrokerError('ERR_CONFLICT', 'This login is already linked to another identity.'));
        }
      }
      logins.get(id)?.set(provider, providerToken);
      return Promise.resolve(describe(id));
    },
    unlinkLogin(userId, provider) {
      enter('unlinkLogin');
      const id = identityOf(userId);
      logins.get(id)?.delete(provider);
      return Promise.resolve(describe(id));
    },
    unlinkDeveloperUser(userId) {
      enter('unlinkDeveloperUser');
      userIdentity.delete(userId);
      return Promise.resolve();
    },
    mergeUsers(userId, sourceUserId) {
      enter('mergeUsers');
      const id = identityOf(userId);
      userIdentity.set(sourceUserId, id);
      return Promise.resolve({ identityId: id });
    },
    lookupIdentity(userId) {
      enter('lookupIdentity');
      return Promise.resolve(userIdentity.get(userId) ?? null);
    },
    lookupUsers(identityId) {
      enter('lookupUsers');
      return Promise.resolve({ userIds: [...userIdentity].filter(([, v]) => v === identityId).map(([k]) => k) });
    },
    describeIdentity(userId) {
      enter('describeIdentity');
      return Promise.resolve(describe(identityOf(userId)));
    },
    getGuestCredentials(guestIdentityId) {
      enter('getGuestCredentials');
      let id = guestIdentityId;
      if (id === undefined) {
        id = `${region}:${randomUUID()}`;
        guests.add(id);
      } else if (!guests.has(id)) {
        return Promise.reject(new BrokerError('ERR_COGNITO_REJECTED', 'Cognito refused the request.'));
      }
      return Promise.resolve(creds(id));
    },
    upgradeGuest(userId, guestIdentityId) {
      enter('upgradeGuest');
      if (!userIdentity.has(userId) && guests.has(guestIdentityId)) {
        guests.delete(guestIdentityId);
        userIdentity.set(userId, guestIdentityId);
        logins.set(guestIdentityId, new Map());
      }
      return Promise.resolve(token(userId));
    },
    forgetUser() {
      calls.forgetUser = (calls.forgetUser ?? 0) + 1;
    },
    preflight() {
      enter('preflight');
      return Promise.resolve({
        identityPoolId,
        identityPoolName: 'fake',
        region,
        developerProviderName: 'login.fake.app',
        allowUnauthenticatedIdentities: true,
        roles: { authenticated: 'arn:aws:iam::123456789012:role/fake-auth' },
        classicFlow: { usable: true },
      });
    },
    stats() {
      const c = {
        hits: 0,
        staleServed: 0,
        refreshAhead: 0,
        misses: 0,
        coalesced: 0,
        refreshes: 0,
        evictions: 0,
        size: 0,
        loading: 0,
      };
      return {
        tokens: c,
        credentials: c,
        scoped: c,
        upstreamCalls: {},
        upstreamErrors: {},
        upstreamThrottles: {},
        quotaRefused: {},
        userBudgetRefused: {},
        inFlight: 0,
      };
    },
  };
  return broker;
}
