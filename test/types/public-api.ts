// Type tests, compiled by `npm run typecheck` and never run: each @ts-expect-error line must fail to
// compile, so a public type that loosens by mistake breaks the typecheck.
import {
  BrokerError,
  cognitoRouter,
  createBroker,
  type Broker,
  type BrokerErrorCode,
  type IdentityCredentials,
} from '../../src/index.js';
import { startEmulator, type FaultSpec } from '../../src/emulator/index.js';
// @ts-expect-error the error mapping is internal
import { toBrokerError } from '../../src/index.js';
// @ts-expect-error option resolution is internal
import { resolveBrokerOptions } from '../../src/index.js';
// @ts-expect-error the problem document builder is internal
import { toProblem } from '../../src/middleware/index.js';

export const internals: unknown[] = [toBrokerError, resolveBrokerOptions, toProblem];

/** A broker of another make: the credentials fast path is optional. */
export function otherBroker(base: Omit<Broker, 'freshCredentialsBody'>): Broker {
  return base;
}

export function fastPath(broker: Broker): Uint8Array | undefined {
  // @ts-expect-error the fast path may be missing: call it with `?.`
  broker.freshCredentialsBody('u1');
  return broker.freshCredentialsBody?.('u1');
}

// @ts-expect-error codes are a closed set
export const badCode: BrokerErrorCode = 'ERR_SOMETHING_ELSE';

export function setSecret(c: IdentityCredentials): void {
  // @ts-expect-error credentials are read-only
  c.secretAccessKey = 'x';
}

// @ts-expect-error the fault's latency is a number of milliseconds
export const badFault: FaultSpec = { latencyMs: '10' };

function throwIt(err: Error): never {
  throw err;
}

export function typeTests(broker: Broker): void {
  // @ts-expect-error identityPoolId and developerProviderName are required
  createBroker({});
  // @ts-expect-error the token duration is a number of seconds
  createBroker({ identityPoolId: 'us-east-1:0', developerProviderName: 'p', tokenDurationSeconds: '900' });
  // @ts-expect-error the allow-list of providers is required
  cognitoRouter({ broker });
  // @ts-expect-error a user id is a string
  void broker.getCredentials(42);

  // @ts-expect-error BrokerError takes a known code
  throwIt(new BrokerError('NOPE', 'message'));
  // @ts-expect-error the port is a number
  void startEmulator({ port: '0' });
}
