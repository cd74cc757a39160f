// The scope of the classic-flow figures (bench/scoped.ts): the app's function of the request, as the
// README's upload recipe has it: PutObject under the user's own prefix.
import type { Request } from 'express';
import type { ScopedCredentialsOptions } from '../../src/index.js';

/** Where the app server mounts the scoped route (under `/aws`, beside the baseline). */
export const SCOPED_PATH = '/credentials/scoped';

export function benchScope(_req: Request, userId: string): ScopedCredentialsOptions {
  return {
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::bench-uploads/users/${userId}/*` },
      ],
    }),
  };
}
