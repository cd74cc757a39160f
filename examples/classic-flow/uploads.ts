// Upload to your own S3 prefix for 15 minutes: the router hands each logged-in user credentials
// limited by a session policy to PutObject under `users/<their user id>/` of one bucket.
import express, { type Express } from 'express';
import { brokerErrorHandler, cognitoRouter, type Broker } from 'cognito-identity-broker';

export const BUCKET = 'my-app-uploads';

/** PutObject under the user's own prefix, nothing else: intersected with the role's permissions. */
export function uploadPolicyFor(userId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/users/${userId}/*` }],
  });
}

export function createUploadsApp(broker: Broker): Express {
  const app = express();
  // Stands in for your session and passport: the user id comes from the `x-user` header here.
  app.use((req, _res, next) => {
    const id = req.get('x-user');
    if (id !== undefined) req.user = { id };
    next();
  });
  const aws = cognitoRouter({
    broker,
    allowedProviders: [],
    // GET /aws/credentials/scoped. An id with `*` or `?` would widen the prefix: no credentials (403).
    scopedCredentials: (_req, userId) =>
      /^[\w-]{1,128}$/.test(userId) ? { policy: uploadPolicyFor(userId), durationSeconds: 900 } : undefined,
  });
  app.use('/aws', aws);
  app.use(brokerErrorHandler());
  return app;
}
// The browser: new S3Client({ region, credentials: fromBroker({ url: '/aws/credentials/scoped' }) })
