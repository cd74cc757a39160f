import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { runMobileClient } from '../../examples/mobile-client/client.js';
import { describeSessionToken } from '../../src/emulator/index.js';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';

async function listen(stack: AppStack): Promise<{ server: Server; url: string }> {
  const server = createServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

void it('the mobile-client example obtains credentials with fromCognitoIdentity from the app’s /aws/token', async () => {
  const stack = await startAppStack();
  const { server, url } = await listen(stack);
  try {
    stack.emulator().resetCounters();
    const c = await runMobileClient({
      appUrl: url,
      username: 'alice',
      password: 'alice-demo-pass',
      cognitoEndpoint: stack.emulator().endpoint,
    });
    const own = await stack.broker.getToken('user-alice');
    assert.equal(c.identityId, own.identityId);
    assert.match(c.accessKeyId, /^[A-Z0-9]{16,}$/);
    assert.ok(c.secretAccessKey.length > 10);
    assert.ok(c.expiration !== undefined && c.expiration.getTime() > Date.now() + 30 * 60_000);
    assert.equal(describeSessionToken(c.sessionToken)?.identityId, own.identityId);
    const counters = stack.emulator().counters();
    // One token from the broker (at login; /aws/token is served from its cache), one credentials call by the SDK.
    assert.equal(counters.GetOpenIdTokenForDeveloperIdentity, 1);
    assert.equal(counters.GetCredentialsForIdentity, 1);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await stack.stop();
  }
});

void it('the mobile-client example fails clearly on a wrong password', async () => {
  const stack = await startAppStack();
  const { server, url } = await listen(stack);
  try {
    await assert.rejects(
      runMobileClient({
        appUrl: url,
        username: 'alice',
        password: 'not-the-password-123',
        cognitoEndpoint: stack.emulator().endpoint,
      }),
      (err: Error) =>
        err.message.startsWith('POST /api/tokens failed with 401') && !err.message.includes('not-the-password-123'),
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await stack.stop();
  }
});

void it('the mobile-client example keeps its guest identity when it logs in with guestIdentityId', async () => {
  const stack = await startAppStack();
  const { server, url } = await listen(stack);
  try {
    const guest = await fetch(`${url}/aws/guest`, { method: 'POST' });
    assert.equal(guest.status, 200);
    const { identityId: guestId } = (await guest.json()) as { identityId: string };
    const c = await runMobileClient({
      appUrl: url,
      username: 'bob',
      password: 'bob-demo-pass',
      cognitoEndpoint: stack.emulator().endpoint,
      guestIdentityId: guestId,
    });
    assert.equal(c.identityId, guestId);
    assert.equal((await stack.broker.getToken('user-bob')).identityId, guestId);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await stack.stop();
  }
});
