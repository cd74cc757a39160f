/* global document, fetch */
// The demo page: plain DOM and fetch against the example app's routes. Secrets are never put in the DOM.
import { fromBroker } from '/vendor/broker-client.mjs';

const $ = (id) => document.getElementById(id);

// The signed-in user's AWS credentials, from GET /aws/credentials with the session cookie (same
// origin). This is the provider an AWS SDK v3 client takes as `credentials`: one request however many
// calls want credentials at once, fetched again shortly before they expire on the server's clock,
// 503/429 retried after Retry-After, and a 401 rejected with code ERR_UNAUTHENTICATED.
const credentials = fromBroker({ url: '/aws/credentials' });
let provider = 'graph.facebook.com';

function show(message, isError = false) {
  const el = $('status');
  el.textContent = message;
  el.classList.toggle('error', isError);
  el.hidden = false;
}

function clearStatus() {
  $('status').hidden = true;
}

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers:
      body === undefined
        ? { Accept: 'application/json' }
        : { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.detail ?? data.title ?? `HTTP ${res.status}`);
    err.code = data.code ?? `HTTP_${res.status}`;
    err.status = res.status;
    // Seconds, on 429 and 503 answers.
    err.retryAfter = Number(res.headers.get('Retry-After')) || undefined;
    throw err;
  }
  return data;
}

function fail(err) {
  show(`${err.message} (${err.code})`, true);
}

function formatExpiry(iso) {
  const d = new Date(iso);
  const minutes = Math.round((d.getTime() - Date.now()) / 60000);
  const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
  return `${time} (in ${minutes} min)`;
}

function mask(secret) {
  return `${'•'.repeat(10)}  hidden (${secret.length} chars)`;
}

function renderLogins(logins) {
  const list = $('logins-list');
  list.replaceChildren();
  if (logins.length === 0) {
    const none = document.createElement('span');
    none.className = 'muted';
    none.textContent = 'none';
    list.append(none);
  }
  for (const name of logins) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = name;
    list.append(chip);
  }
  const linked = logins.includes(provider);
  const state = $('provider-state');
  state.textContent = linked ? 'linked' : 'not linked';
  state.classList.toggle('on', linked);
  $('link-provider').disabled = linked;
  $('unlink-provider').disabled = !linked;
}

function resetCredentials() {
  for (const id of [
    'access-key-id',
    'secret-access-key',
    'session-token',
    'expiration',
    'identity-id',
    'identity-pool-id',
  ]) {
    $(id).textContent = '—';
  }
}

async function refreshIdentity() {
  const identity = await call('GET', '/aws/identity');
  $('identity-id').textContent = identity.identityId;
  renderLogins(identity.logins);
  const token = await call('GET', '/aws/token');
  $('identity-pool-id').textContent = token.identityPoolId;
}

function signedIn(user) {
  credentials.clear();
  $('current-user').textContent = `${user.name} (${user.username})`;
  $('session').hidden = false;
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  $('guest-panel').hidden = true;
  return refreshIdentity();
}

function signedOut() {
  credentials.clear();
  $('session').hidden = true;
  $('signed-out').hidden = false;
  $('signed-in').hidden = true;
  resetCredentials();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  clearStatus();
  try {
    const { user, identityId } = await call('POST', '/login', {
      username: $('username').value,
      password: $('password').value,
    });
    $('password').value = '';
    await signedIn(user);
    show(`Signed in. Identity ${identityId ?? ''}`.trim());
  } catch (err) {
    if (err.code === 'ERR_UNAUTHENTICATED') show('Wrong username or password.', true);
    else if (err.code === 'ERR_RATE_LIMITED') {
      const wait = err.retryAfter === undefined ? 'later' : `in ${Math.ceil(err.retryAfter / 60)} min`;
      show(`Too many login attempts. Try again ${wait}.`, true);
    } else fail(err);
  }
});

$('guest-button').addEventListener('click', async () => {
  clearStatus();
  try {
    const c = await call('POST', '/aws/guest');
    $('guest-identity-id').textContent = c.identityId;
    $('guest-access-key-id').textContent = c.accessKeyId;
    $('guest-expiration').textContent = formatExpiry(c.expiration);
    $('guest-panel').hidden = false;
    show('Guest credentials issued.');
  } catch (err) {
    fail(err);
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await call('POST', '/logout');
    signedOut();
    show('Signed out.');
  } catch (err) {
    fail(err);
  }
});

$('refresh-identity').addEventListener('click', () => {
  clearStatus();
  refreshIdentity().catch(fail);
});

$('get-credentials').addEventListener('click', async () => {
  clearStatus();
  try {
    const c = await credentials();
    $('access-key-id').textContent = c.accessKeyId;
    $('secret-access-key').textContent = mask(c.secretAccessKey);
    $('session-token').textContent = mask(c.sessionToken);
    $('expiration').textContent = formatExpiry(c.expiration);
    // The proof that these credentials sign a request goes here: a SigV4-signed STS
    // GetCallerIdentity to the emulator, its answer (the identity's assumed-role ARN) shown beside them.
    show('Credentials fetched.');
  } catch (err) {
    if (err.code === 'ERR_UNAUTHENTICATED') {
      signedOut();
      show('Your session has ended. Sign in again.', true);
    } else fail(err);
  }
});

$('link-provider').addEventListener('click', async () => {
  clearStatus();
  try {
    const minted = await call('POST', '/demo/provider-token');
    const identity = await call('POST', '/aws/logins', { provider: minted.provider, token: minted.token });
    renderLogins(identity.logins);
    show(`Linked ${provider}.`);
  } catch (err) {
    fail(err);
  }
});

$('unlink-provider').addEventListener('click', async () => {
  clearStatus();
  try {
    const identity = await call('DELETE', `/aws/logins/${encodeURIComponent(provider)}`);
    renderLogins(identity.logins);
    show(`Unlinked ${provider}.`);
  } catch (err) {
    fail(err);
  }
});

$('merge-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  clearStatus();
  try {
    const { identityId } = await call('POST', '/aws/merge', {
      username: $('merge-username').value,
      password: $('merge-password').value,
    });
    $('merge-password').value = '';
    await refreshIdentity();
    show(`Merged: ${$('merge-username').value} now shares identity ${identityId}.`);
  } catch (err) {
    fail(err);
  }
});

async function start() {
  try {
    const config = await call('GET', '/demo/config');
    provider = config.provider;
    $('provider-name').textContent = provider;
    $('provider-label').textContent = provider;
    $('guest-button').hidden = !config.guests;
    $('link-provider').hidden = !config.canMintProviderTokens;
  } catch (err) {
    fail(err);
  }
  try {
    const { user } = await call('GET', '/me');
    if (user === null) signedOut();
    else await signedIn(user);
  } catch (err) {
    fail(err);
  }
}

start();
