// The `./cdk` entry: an AWS CDK construct for the broker's identity pool. Needs `aws-cdk-lib` and
// `constructs` (optional peer dependencies); no other entry loads them.
export { BrokerIdentityPool, IDENTITY_ID_VARIABLE } from './broker-identity-pool.js';
export type { BrokerIdentityPoolProps } from './broker-identity-pool.js';
export { BROKER_AWS_OPERATIONS, BROKER_IAM_ACTIONS } from '../broker/aws-operations.js';
