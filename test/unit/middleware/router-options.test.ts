import assert from 'node:assert/strict';
import { it } from 'node:test';
import { cognitoRouter, type CognitoRouterOptions } from '../../../src/middleware/index.js';
import { createFakeBroker } from '../../helpers/fake-broker.js';

function build(overrides: Record<string, unknown>): () => unknown {
  const options = { broker: createFakeBroker(), allowedProviders: ['graph.facebook.com'], ...overrides };
  return () => cognitoRouter(options);
}

void it('builds a router with valid options and exposes afterLogin and logout steps', () => {
  const router = cognitoRouter({ broker: createFakeBroker(), allowedProviders: [] });
  assert.equal(typeof router, 'function');
  assert.equal(typeof router.afterLogin(), 'function');
  assert.equal(typeof router.logout(), 'function');
});

void it('throws a TypeError at creation for each invalid option', () => {
  assert.throws(() => cognitoRouter(undefined as unknown as CognitoRouterOptions), TypeError);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ broker: undefined }, /broker is required/],
    [{ broker: { getToken: () => null } }, /broker\.getCredentials must be a function/],
    [{ allowedProviders: undefined }, /allowedProviders must be an array/],
    [{ allowedProviders: 'graph.facebook.com' }, /allowedProviders must be an array/],
    [{ allowedProviders: [''] }, /non-empty provider names/],
    [{ allowedProviders: ['a b'] }, /non-empty provider names/],
    [{ allowedProviders: ['x'.repeat(129)] }, /at most 128/],
    [{ allowedProviders: ['cognito-identity.amazonaws.com'] }, /Cognito’s own logins key/],
    [{ getUserId: 'user.id' }, /getUserId must be a function/],
    [{ verifyMergeSource: true }, /verifyMergeSource must be a function/],
    [{ bodyLimitBytes: 0 }, /bodyLimitBytes/],
    [{ bodyLimitBytes: 1.5 }, /bodyLimitBytes/],
    [{ bodyLimitBytes: 10_000_000 }, /bodyLimitBytes/],
    [{ allowGuests: 'yes' }, /allowGuests must be a boolean/],
    [{ rateLimit: null }, /rateLimit must be an object or false/],
    [{ rateLimit: { max: 0 } }, /rateLimit\.max must be a positive integer/],
    [{ rateLimit: { windowSeconds: -1 } }, /rateLimit\.windowSeconds/],
    [{ trustedOrigins: 'https://a.example' }, /trustedOrigins must be an array/],
    [{ trustedOrigins: ['https://a.example/path'] }, /bare origins/],
    [{ trustedOrigins: ['not a url'] }, /invalid origin/],
    [{ clock: {} }, /clock must have a now\(\) method/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(
      build(overrides),
      (err: unknown) => err instanceof TypeError && message.test(err.message),
      JSON.stringify(overrides),
    );
  }
});

void it('accepts rateLimit: false and trusted origins with a trailing slash', () => {
  assert.doesNotThrow(
    build({ rateLimit: false, trustedOrigins: ['https://app.example.com/', 'http://localhost:5173'] }),
  );
});
