// A 12-hour job acting as one user: credentials for the whole run from one broker call, limited to
// the managed policy the job needs. The role's maximum session duration must be 12 hours.
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import type { Broker } from 'cognito-identity-broker';

export async function runNightlyExport(broker: Broker, userId: string, config: STSClientConfig = {}): Promise<string> {
  const credentials = broker.scopedCredentialProvider(userId, {
    durationSeconds: 43_200,
    policyArns: ['arn:aws:iam::123456789012:policy/nightly-export'],
    sessionName: 'nightly-export',
  });
  // Any AWS SDK v3 client takes the provider, e.g. new S3Client({ region, credentials }).
  const sts = new STSClient({ region: broker.region, ...config, credentials });
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    const { expiration } = await credentials();
    return `exporting as ${Arn ?? '?'} until ${expiration?.toISOString() ?? '?'}`;
  } finally {
    sts.destroy();
  }
}
