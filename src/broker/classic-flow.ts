import { GetIdentityPoolRolesCommand } from '@aws-sdk/client-cognito-identity';
import { BrokerError } from '../errors.js';
import { abortable } from './abort.js';
import type { StsSendClient } from './classic-flow-options.js';
import type { Upstream } from './upstream.js';

/**
 * What one broker's classic flow holds besides its cache: the STS client (made on first use) and the
 * default role (the pool's authenticated role, read once when `classicFlow.roleArn` is not given).
 */
export class ClassicFlow {
  readonly #sts: () => StsSendClient;
  readonly #configuredRole: string | undefined;
  readonly #identityPoolId: string;
  #poolRole: Promise<string> | undefined;

  constructor(options: {
    readonly sts: () => StsSendClient;
    readonly roleArn: string | undefined;
    readonly identityPoolId: string;
  }) {
    this.#sts = options.sts;
    this.#configuredRole = options.roleArn;
    this.#identityPoolId = options.identityPoolId;
  }

  /** The STS client (the default one is built on the first call). */
  sts(): StsSendClient {
    return this.#sts();
  }

  /**
   * The role of a scope that names none: `classicFlow.roleArn`, else the pool's authenticated role,
   * read with one GetIdentityPoolRoles call shared by every caller and kept once it succeeded (a
   * failure is not kept: the next call asks again).
   * @throws BrokerError `ERR_MISCONFIGURED` when the pool has no authenticated role; the call's errors.
   */
  async role(upstream: Upstream, signal: AbortSignal | undefined): Promise<string> {
    if (this.#configuredRole !== undefined) return this.#configuredRole;
    if (this.#poolRole === undefined) {
      const identityPoolId = this.#identityPoolId;
      const read = upstream
        .call({ operation: 'GetIdentityPoolRoles' }, (client, abortSignal) =>
          client.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: identityPoolId }), { abortSignal }),
        )
        .then((out) => {
          const role = out.Roles?.authenticated;
          if (role === undefined || role === '') {
            throw new BrokerError(
              'ERR_MISCONFIGURED',
              `identity pool ${identityPoolId} has no authenticated role: set it, or give classicFlow.roleArn`,
            );
          }
          return role;
        });
      this.#poolRole = read;
      read.catch(() => {
        if (this.#poolRole === read) this.#poolRole = undefined;
      });
    }
    return abortable(this.#poolRole, signal);
  }
}
