// Cognito and STS clients that hold back chosen answers: the call reaches the service (which answers as
// of that moment), and the answer reaches the broker only when the test releases it — a delayed
// answer made deterministic, with no timing in the test.
import type { StsSendClient } from '../../src/broker/classic-flow-options.js';
import type { CognitoSendClient } from '../../src/broker/options.js';

/** One held answer: resolves `answered` once Cognito answered; the broker gets it at `release()`. */
export interface Held {
  readonly answered: Promise<void>;
  release(): void;
}

export interface HoldingClient {
  readonly client: CognitoSendClient;
  /** Holds the next GetOpenIdTokenForDeveloperIdentity answer for developer user `userId`. */
  holdToken(userId: string): Held;
}

export function holdingClient(inner: CognitoSendClient): HoldingClient {
  const holds = new Map<string, { answered: () => void; released: Promise<void> }>();
  const send = (async (command: { constructor: { name: string }; input: unknown }, options?: unknown) => {
    const out = await (inner.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    if (command.constructor.name === 'GetOpenIdTokenForDeveloperIdentityCommand') {
      const logins = (command.input as { Logins?: Record<string, string> }).Logins ?? {};
      for (const user of Object.values(logins)) {
        const hold = holds.get(user);
        if (hold === undefined) continue;
        holds.delete(user);
        hold.answered();
        await hold.released;
      }
    }
    return out;
  }) as unknown as CognitoSendClient['send'];
  return {
    client: { send },
    holdToken(userId) {
      let answered!: () => void;
      let release!: () => void;
      const answeredP = new Promise<void>((r) => (answered = r));
      const released = new Promise<void>((r) => (release = r));
      holds.set(userId, { answered, released });
      return { answered: answeredP, release };
    },
  };
}

export interface HoldingStsClient {
  readonly client: StsSendClient;
  /** Holds the next AssumeRoleWithWebIdentity answer (STS answered; the broker gets it at `release()`). */
  holdNext(): Held;
}

/** An STS client that holds back the next AssumeRoleWithWebIdentity answer when asked to. */
export function holdingStsClient(inner: StsSendClient): HoldingStsClient {
  let hold: { answered: () => void; released: Promise<void> } | undefined;
  const send = (async (command: { constructor: { name: string } }, options?: unknown) => {
    const out = await (inner.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    if (command.constructor.name === 'AssumeRoleWithWebIdentityCommand' && hold !== undefined) {
      const h = hold;
      hold = undefined;
      h.answered();
      await h.released;
    }
    return out;
  }) as unknown as StsSendClient['send'];
  return {
    client: { send },
    holdNext() {
      let answered!: () => void;
      let release!: () => void;
      const answeredP = new Promise<void>((r) => (answered = r));
      const released = new Promise<void>((r) => (release = r));
      hold = { answered, released };
      return { answered: answeredP, release };
    },
  };
}
