import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';

// AWS authenticates a request before it throttles or fails it: an unsigned developer call must be
// refused as unauthenticated even while a fault is set, and must not use up the throttle budget.
const HEADERS = { 'content-type': 'application/x-amz-json-1.1' };

async function call(
  endpoint: string,
  op: string,
  body: unknown,
  signed: boolean,
): Promise<{ status: number; type: string | null }> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      ...HEADERS,
      'x-amz-target': `AWSCognitoIdentityService.${op}`,
      ...(signed
        ? {
            authorization:
              'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cognito-identity/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
              '0'.repeat(64),
            'x-amz-date': new Date()
              .toISOString()
              .replace(/[-:]/g, '')
              .replace(/\.\d{3}/, ''),
          }
        : {}),
    },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return { status: res.status, type: res.headers.get('x-amzn-errortype') };
}

void describe('emulator: authentication before faults', () => {
  void it('refuses an unsigned developer call as unauthenticated while an error fault is set', async () => {
    const emu = await startEmulator({ seed: [{ name: 'p', developerProviderName: 'login.p' }] });
    try {
      const pool = emu.pools[0]!.identityPoolId;
      emu.setFault('GetOpenIdTokenForDeveloperIdentity', { error: 'InternalErrorException' });
      const unsigned = await call(
        emu.endpoint,
        'GetOpenIdTokenForDeveloperIdentity',
        { IdentityPoolId: pool, Logins: { 'login.p': 'u' } },
        false,
      );
      assert.equal(unsigned.status, 400);
      assert.equal(unsigned.type, 'MissingAuthenticationTokenException');
      const signed = await call(
        emu.endpoint,
        'GetOpenIdTokenForDeveloperIdentity',
        { IdentityPoolId: pool, Logins: { 'login.p': 'u' } },
        true,
      );
      assert.equal(signed.status, 500);
      assert.equal(signed.type, 'InternalErrorException');
      // Both calls were received and counted.
      assert.equal(emu.counters().GetOpenIdTokenForDeveloperIdentity, 2);
    } finally {
      await emu.stop();
    }
  });

  void it('does not let unsigned calls use up the throttle budget of signed ones', async () => {
    const emu = await startEmulator({ seed: [{ name: 'p', developerProviderName: 'login.p' }] });
    try {
      const pool = emu.pools[0]!.identityPoolId;
      emu.setFault('LookupDeveloperIdentity', { throttleRps: 2 });
      for (let i = 0; i < 5; i += 1) {
        const r = await call(emu.endpoint, 'LookupDeveloperIdentity', { IdentityPoolId: pool, MaxResults: 1 }, false);
        assert.equal(r.type, 'MissingAuthenticationTokenException');
      }
      const signed = await call(
        emu.endpoint,
        'LookupDeveloperIdentity',
        { IdentityPoolId: pool, DeveloperUserIdentifier: 'nobody', MaxResults: 1 },
        true,
      );
      assert.notEqual(signed.type, 'TooManyRequestsException');
    } finally {
      await emu.stop();
    }
  });
});
