import { STSClient } from '@aws-sdk/client-sts';
import type { StsSendClient } from './classic-flow-options.js';
import { defaultClientConfig, governedSend, type DefaultClientOptions } from './default-client.js';

/**
 * The broker's default STS client, for the classic flow: configured as the default Cognito client
 * (default-client.ts: the pool's region, `retryMode: 'standard'`, `maxAttempts`, the broker's
 * timeout on every attempt, the call's abort signal on every attempt, the quota governor's token
 * before every retry). The SDK takes its endpoint from `AWS_ENDPOINT_URL_STS` when set (the
 * emulator), else the pool's regional STS endpoint.
 *
 * AssumeRoleWithWebIdentity is authorised by the user's OpenID token, not by AWS credentials: the
 * SDK sends it unsigned, so the broker's own credentials are not needed for it.
 */
export function defaultStsClient(options: DefaultClientOptions): StsSendClient {
  const client = new STSClient(defaultClientConfig(options));
  // The SDK's client types differ per service only in their commands; the middleware is the same.
  const send = governedSend(client as unknown as Parameters<typeof governedSend>[0], options.beforeRetry);
  return { send: send as StsSendClient['send'] };
}
