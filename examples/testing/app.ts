// The app under test in examples/testing (yours is bigger): it takes its broker as an argument,
// so that a test can give it one on the emulator.
import express, { type Express } from 'express';
import { brokerErrorHandler, cognitoRouter, type Broker } from 'cognito-identity-broker';

export function createApp(broker: Broker): Express {
  const app = express();
  // Stands in for your session and passport: the user id comes from the `x-user` header here.
  app.use((req, _res, next) => {
    const id = req.get('x-user');
    if (id !== undefined) req.user = { id };
    next();
  });
  app.use('/aws', cognitoRouter({ broker, allowedProviders: ['graph.facebook.com'] }));
  app.use(brokerErrorHandler());
  return app;
}
