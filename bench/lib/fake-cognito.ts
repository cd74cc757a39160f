// An in-process stand-in for Cognito that returns payloads the size real ones have: a ~900-character
// OpenID token (RS512 JWT) and credentials with a ~1,000-character STS session token. Each response
// is built by JSON.parse of a body, as the SDK does, so every string is a fresh heap object.
import { randomBytes, randomUUID } from 'node:crypto';
import type { CognitoSendClient } from '../../src/broker/options.js';
import type { Clock } from '../../src/broker/clock.js';

const REGION = 'us-east-1';

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Options of {@link fakeCognito}. */
export interface FakeCognitoOptions {
  readonly clock: Clock;
  readonly identityPoolId: string;
  readonly developerProviderName: string;
}

/** Counters of the fake, by operation. */
export type FakeCounters = Record<string, number>;

/** A client the broker accepts (`send(command)`), answering the developer flow. */
export function fakeCognito(options: FakeCognitoOptions): { client: CognitoSendClient; counters: () => FakeCounters } {
  const identities = new Map<string, string>();
  const counters: FakeCounters = {};
  const poolGuid = options.identityPoolId.split(':')[1] ?? '';
  const header = b64url({ kid: `${REGION}-1`, typ: 'JWS', alg: 'RS512' });

  function token(input: { Logins: Record<string, string>; TokenDuration?: number }): {
    IdentityId: string;
    Token: string;
  } {
    const userId = input.Logins[options.developerProviderName] ?? '';
    let identityId = identities.get(userId);
    if (identityId === undefined) {
      identityId = `${REGION}:${randomUUID()}`;
      identities.set(userId, identityId);
    }
    const iat = Math.floor(options.clock.now() / 1000);
    const claims = {
      sub: identityId,
      aud: options.identityPoolId,
      amr: [
        'authenticated',
        options.developerProviderName,
        `${options.developerProviderName}:${REGION}:${poolGuid}:${userId}`,
      ],
      'https://aws.amazon.com/tags': { principal_tags: { plan: ['standard'] } },
      iss: 'https://cognito-identity.amazonaws.com',
      exp: iat + (input.TokenDuration ?? 900),
      iat,
    };
    // A 2048-bit RS512 signature is 256 bytes: 342 base64url characters; real tokens are ~900 in all.
    const jwt = `${header}.${b64url(claims)}.${randomBytes(256).toString('base64url')}`;
    return JSON.parse(JSON.stringify({ IdentityId: identityId, Token: jwt })) as { IdentityId: string; Token: string };
  }

  function credentials(input: { IdentityId: string }) {
    const rnd = randomBytes(16 + 30 + 740);
    const body = JSON.stringify({
      IdentityId: input.IdentityId,
      Credentials: {
        AccessKeyId: `ASIA${rnd.subarray(0, 16).toString('hex').slice(0, 16).toUpperCase()}`,
        SecretKey: rnd.subarray(16, 46).toString('base64'),
        // STS session tokens for Cognito roles are ~1,000 characters.
        SessionToken: rnd.subarray(46).toString('base64').slice(0, 1000),
        Expiration: Math.floor(options.clock.now() / 1000) + 3600,
      },
    });
    const out = JSON.parse(body) as {
      IdentityId: string;
      Credentials: { Expiration: number } & Record<string, unknown>;
    };
    return { ...out, Credentials: { ...out.Credentials, Expiration: new Date(out.Credentials.Expiration * 1000) } };
  }

  const client: CognitoSendClient = {
    send: ((command: { constructor: { name: string }; input: unknown }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      counters[name] = (counters[name] ?? 0) + 1;
      const meta = { $metadata: { httpStatusCode: 200 } };
      switch (name) {
        case 'GetOpenIdTokenForDeveloperIdentity':
          return Promise.resolve({ ...token(command.input as { Logins: Record<string, string> }), ...meta });
        case 'GetCredentialsForIdentity':
          return Promise.resolve({ ...credentials(command.input as { IdentityId: string }), ...meta });
        default:
          return Promise.reject(
            Object.assign(new Error(`${name} is not supported by the bench fake`), {
              name: 'InvalidParameterException',
            }),
          );
      }
    }) as CognitoSendClient['send'],
  };
  return { client, counters: () => ({ ...counters }) };
}
