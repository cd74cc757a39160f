// `cognito-identity-broker/testing`: the emulator and a broker for it in one call, for the tests of
// apps that use the package. Nothing else in the package imports it.
export { startTestBroker, type TestBroker, type TestBrokerOptions } from './start-test-broker.js';
