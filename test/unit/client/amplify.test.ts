// amplifyCredentialsProvider: Amplify v6's credentials provider over a broker provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  amplifyCredentialsProvider,
  BrokerClientError,
  type BrokerCredentialProvider,
  type BrokerCredentials,
} from '../../../src/client/index.js';

const CREDS: BrokerCredentials = {
  identityId: 'us-east-1:11111111-2222-4333-8444-555555555555',
  accessKeyId: 'ASIAEXAMPLE',
  secretAccessKey: 'secret',
  sessionToken: 'session',
  expiration: new Date('2030-01-01T00:00:00Z'),
};

function fakeProvider(answer: () => Promise<BrokerCredentials>): BrokerCredentialProvider & { clears: number } {
  const provider = Object.assign(() => answer(), {
    clears: 0,
    clear() {
      provider.clears += 1;
    },
  });
  return provider;
}

void test('answers Amplify with the credentials and the identity id apart', async () => {
  const provider = fakeProvider(() => Promise.resolve(CREDS));
  const amplify = amplifyCredentialsProvider(provider);
  assert.deepEqual(await amplify.getCredentialsAndIdentityId({ authenticated: false }), {
    credentials: {
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'session',
      expiration: CREDS.expiration,
    },
    identityId: CREDS.identityId,
  });
  assert.equal(provider.clears, 0);
});

void test('forceRefresh fetches anew; clearCredentialsAndIdentityId forgets', async () => {
  const provider = fakeProvider(() => Promise.resolve(CREDS));
  const amplify = amplifyCredentialsProvider(provider);
  await amplify.getCredentialsAndIdentityId({ authenticated: true, forceRefresh: true });
  assert.equal(provider.clears, 1);
  amplify.clearCredentialsAndIdentityId();
  assert.equal(provider.clears, 2);
});

void test('nobody logged in (401) is no credentials; any other failure rejects as it came', async () => {
  const loggedOut = amplifyCredentialsProvider(
    fakeProvider(() => Promise.reject(new BrokerClientError('ERR_UNAUTHENTICATED', 'Log in', 401))),
  );
  assert.equal(await loggedOut.getCredentialsAndIdentityId({ authenticated: false }), undefined);
  const down = new BrokerClientError('ERR_UNAVAILABLE', 'Unavailable', 503);
  const failing = amplifyCredentialsProvider(fakeProvider(() => Promise.reject(down)));
  await assert.rejects(failing.getCredentialsAndIdentityId({ authenticated: false }), (err) => err === down);
});
