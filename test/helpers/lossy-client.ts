// An SDK client that sends chosen commands to Cognito (the emulator) and then loses their answer.
import type { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';

/** The client, and the names of the commands whose answers are lost (a timeout after Cognito applied them). */
export interface LossyClient {
  readonly client: CognitoIdentityClient;
  readonly lose: Set<string>;
  /** Commands refused without being sent (as Cognito refuses a request it does not apply). */
  readonly refuse: Set<string>;
}

export function lossyClient(sdk: CognitoIdentityClient): LossyClient {
  const lose = new Set<string>();
  const refuse = new Set<string>();
  const client = new Proxy(sdk, {
    get(target, prop, receiver) {
      if (prop === 'send') {
        return async (command: { constructor: { name: string } }, options?: unknown) => {
          if (refuse.has(command.constructor.name)) {
            throw Object.assign(new Error('refused'), { name: 'ResourceConflictException', $fault: 'client' });
          }
          // Typed loosely: the proxy forwards whatever command the broker sends.
          const out: unknown = await target.send(command as never, options as never);
          if (lose.has(command.constructor.name)) {
            throw Object.assign(new Error('the answer was lost'), { name: 'TimeoutError' });
          }
          return out;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client, lose, refuse };
}
