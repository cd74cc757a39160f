// Upload to your own S3 prefix for 15 minutes: the router hands each logged-in user credentials
// for PutObject under `users/<their identity id>/` of one bucket, and no other credentials.
import express, { type Express } from 'express';
import { brokerErrorHandler, cognitoRouter, type Broker } from 'cognito-identity-broker';

export const BUCKET = 'my-app-uploads';

/**
 * PutObject under the identity's own prefix, nothing else: intersected with the role's permissions,
 * which already limit every identity to its own prefix (`${cognito-identity.amazonaws.com:sub}`).
 */
export function uploadPolicyFor(identityId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/users/${identityId}/*` }],
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
    // The scoped route is the only way to credentials: GET /aws/credentials (the role with no
    // session policy) and GET /aws/token (a token the browser could take to STS itself) are off.
    credentials: false,
    token: false,
    // GET /aws/credentials/scoped. The identity id comes from the user's cached token: the call
    // that follows needs that token anyway.
    scopedCredentials: async (_req, userId) => {
      const { identityId } = await broker.getToken(userId);
      return { policy: uploadPolicyFor(identityId), durationSeconds: 900 };
    },
  });
  app.use('/aws', aws);
  app.use(brokerErrorHandler());
  return app;
}
// The browser: new S3Client({ region, credentials: fromBroker({ url: '/aws/credentials/scoped' }) });
// the body's `identityId` names its prefix.
