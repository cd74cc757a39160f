// The CDK tests, in one process: loading aws-cdk-lib and cdk-nag and the first synthesis take
// seconds of CPU each time, later syntheses a fraction of one.
import './identity-pool.cases.js';
import './backend-stack.cases.js';
import './template.cases.js';
