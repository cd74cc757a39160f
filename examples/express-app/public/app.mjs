/* global document, fetch */
// The demo page: plain DOM and fetch against the example app's routes. Secrets are never put in the DOM.
import { fromBroker } from '/vendor/broker-client.mjs';
import { getCallerIdentity } from '/sts-proof.mjs';

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
    err.retryAfter = retryAfterSeconds(res.headers.get('Retry-After'));
    throw err;
  }
  return data;
}

// Retry-After is delta-seconds or an HTTP date; undefined when absent or unreadable.
function retryAfterSeconds(value) {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// "in 42 s", "in 15 min", from the server's Retry-After (the page's fetch errors carry `retryAfter`,
// the credentials client's `retryAfterSeconds`); "later" without one.
function waitText(err) {
  const seconds = err.retryAfter ?? err.retryAfterSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return 'later';
  if (seconds < 60) return `in ${Math.max(1, Math.ceil(seconds))} s`;
  return `in ${Math.ceil(seconds / 60)} min`;
}

function fail(err) {
  const seconds = err.retryAfter ?? err.retryAfterSeconds;
  const wait = typeof seconds === 'number' ? ` Try again ${waitText(err)}.` : '';
  show(`${err.message} (${err.code})${wait}`, true);
}

// Identity ids are REGION:UUID: the line may break after the colon, never inside the UUID.
function showCredentials(c) {
  $('access-key-id').textContent = c.accessKeyId;
  $('secret-access-key').textContent = mask(c.secretAccessKey);
  $('session-token').textContent = mask(c.sessionToken);
  $('expiration').textContent = formatExpiry(c.expiration);
}

// An ARN breaks only after a colon or a slash (arn:aws:sts::…:assumed-role/ROLE/SESSION), never
// inside a name.
function showArn(el, arn) {
  el.replaceChildren();
  for (const part of arn.split(/(?<=[:/])/)) {
    const span = document.createElement('span');
    span.className = 'id-part';
    span.textContent = part;
    el.append(span, document.createElement('wbr'));
  }
}

function showId(el, id) {
  el.replaceChildren();
  const colon = typeof id === 'string' ? id.indexOf(':') : -1;
  if (colon < 0) {
    el.textContent = id ?? '—';
    return;
  }
  const region = document.createElement('span');
  region.className = 'id-part';
  region.textContent = id.slice(0, colon + 1);
  const uuid = document.createElement('span');
  uuid.className = 'id-part';
  uuid.textContent = id.slice(colon + 1);
  el.append(region, document.createElement('wbr'), uuid);
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

// The developer users (accounts) on the identity: the signed-in user and every account merged into it.
// Shown by username (`names`, from GET /demo/account-names), as every message names them.
function renderDeveloperUsers(users, truncated, names = {}) {
  const list = $('developer-users');
  list.replaceChildren();
  for (const id of users) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = Object.hasOwn(names, id) ? names[id] : id;
    list.append(chip);
  }
  if (truncated) {
    const more = document.createElement('span');
    more.className = 'muted';
    more.textContent = 'and more';
    list.append(more);
  }
  if (users.length === 0) {
    const none = document.createElement('span');
    none.className = 'muted';
    none.textContent = '—';
    list.append(none);
  }
}

// Every form field, so that nothing typed stays on the page for the next person at it.
function clearForms() {
  for (const id of ['username', 'password', 'merge-username', 'merge-password']) $(id).value = '';
}

function resetCredentials() {
  for (const id of [
    'access-key-id',
    'secret-access-key',
    'session-token',
    'expiration',
    'identity-id',
    'identity-pool-id',
    'caller-arn',
  ]) {
    $(id).textContent = '—';
  }
  renderDeveloperUsers([], false);
  renderLogins([]);
}

// Sign-ins, sign-outs and guest sessions since the page loaded (each one counts when it is asked for
// and when its view is shown): an answer to a request made before the latest of them (the page's
// first look at the session, an identity refresh, a guest request, a merge) is someone else's, and
// is dropped.
let sessionChanges = 0;
// Identity refreshes started: only the latest one's answers fill the panel.
let refreshes = 0;

// The identity panel, from three requests, for the session as it was at `changes`. Its answers (and
// its errors) are dropped when the session has changed since, or a newer refresh has started.
async function refreshIdentity(changes = sessionChanges) {
  refreshes += 1;
  const mine = refreshes;
  const stale = () => sessionChanges !== changes || refreshes !== mine;
  try {
    await fillIdentity(stale);
  } catch (err) {
    if (!stale()) throw err;
  }
}

async function fillIdentity(stale) {
  const identity = await call('GET', '/aws/identity');
  if (stale()) return;
  showId($('identity-id'), identity.identityId);
  renderLogins(identity.logins);
  const developerUsers = identity.developerUsers ?? [];
  const { names } =
    developerUsers.length === 0
      ? { names: {} }
      : await call('GET', `/demo/account-names?ids=${encodeURIComponent(developerUsers.join(','))}`);
  if (stale()) return;
  renderDeveloperUsers(developerUsers, identity.developerUsersTruncated === true, names);
  const token = await call('GET', '/aws/token');
  if (stale()) return;
  showId($('identity-pool-id'), token.identityPoolId);
}

async function signedIn(user) {
  sessionChanges += 1;
  credentials.clear();
  $('current-user').textContent = `${user.name} (${user.username})`;
  $('session').hidden = false;
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  $('guest-panel').hidden = true;
  return refreshIdentity();
}

// The signed-out view. A sign-out or an ended session also wipes every form field (`wipe`); the
// page's first look at the session does not, so that what the user is already typing stays.
function signedOut({ wipe = true } = {}) {
  sessionChanges += 1;
  credentials.clear();
  if (wipe) clearForms();
  $('session').hidden = true;
  $('signed-out').hidden = false;
  $('signed-in').hidden = true;
  resetCredentials();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  clearStatus();
  sessionChanges += 1;
  let answer;
  try {
    answer = await call('POST', '/login', {
      username: $('username').value,
      password: $('password').value,
    });
  } catch (err) {
    $('password').value = '';
    if (err.code === 'ERR_UNAUTHENTICATED') show('Wrong username or password.', true);
    else if (err.code === 'ERR_RATE_LIMITED') show(`Too many login attempts. Try again ${waitText(err)}.`, true);
    else fail(err);
    return;
  }
  clearForms();
  // The message before the identity panel's refresh: that refresh may answer after the user's next
  // click (Get credentials), and then writes only the panel. Its errors are its own, not the sign-in's.
  show(loginMessage(answer.identityId, answer.guest));
  signedIn(answer.user).catch(fail);
});

// What became of the guest identity at sign-in (the login response's `guest`), in words.
function loginMessage(identityId, guest) {
  if (guest === null || guest === undefined) return `Signed in. Identity ${identityId ?? ''}`.trim();
  switch (guest.outcome) {
    case 'upgraded':
      return 'Signed in. The guest identity is now yours: your account had no identity, so it took the guest’s.';
    case 'user-has-identity':
      return 'Signed in with your own identity. The guest identity was not linked: your account already had an identity, and it keeps it. The guest identity is left behind; nothing from it was carried over.';
    case 'not-upgradable':
      return 'Signed in. The guest identity could not be kept: it is no longer a guest identity.';
    default:
      return 'Signed in. The guest identity is not linked yet (the identity service is busy); it is tried again on your next action.';
  }
}

$('guest-button').addEventListener('click', async () => {
  sessionChanges += 1;
  const changes = sessionChanges;
  clearStatus();
  try {
    const c = await call('POST', '/aws/guest');
    if (sessionChanges !== changes) return;
    showId($('guest-identity-id'), c.identityId);
    $('guest-access-key-id').textContent = c.accessKeyId;
    $('guest-expiration').textContent = formatExpiry(c.expiration);
    $('guest-panel').hidden = false;
    show('Guest credentials issued.');
  } catch (err) {
    if (sessionChanges === changes) fail(err);
  }
});

$('logout').addEventListener('click', async () => {
  sessionChanges += 1;
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
    showCredentials(await credentials());
    show('Credentials fetched.');
  } catch (err) {
    if (err.code === 'ERR_UNAUTHENTICATED') {
      signedOut();
      show('Your session has ended. Sign in again.', true);
    } else if (err.code === 'ERR_UNAVAILABLE') {
      show(`AWS credentials are not available right now. Try again ${waitText(err)}.`, true);
    } else fail(err);
  }
});

// STS proof: a GetCallerIdentity signed in this page with the credentials above (SigV4 with the
// session token) through the app's POST /sts to the emulator, which verifies the signature and answers
// with the identity's assumed-role ARN. Only offered in emulator mode (config.sts).
let sts = null;
$('verify-credentials').addEventListener('click', async () => {
  clearStatus();
  $('caller-arn').textContent = '—';
  try {
    // Verify before Get: the credentials it signs with are shown too, not left empty.
    const c = await credentials();
    showCredentials(c);
    const { arn } = await getCallerIdentity({ credentials: c, ...sts });
    showArn($('caller-arn'), arn);
    show(`Verified: STS accepted the signature of ${arn}.`);
  } catch (err) {
    if (err.code === 'ERR_UNAUTHENTICATED') {
      signedOut();
      show('Your session has ended. Sign in again.', true);
    } else if (err.status === 403 || err.status === 400) {
      show(`STS refused the signature: ${err.message} (${err.code})`, true);
    } else fail(err);
  }
});
// STS proof: end.

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
  const changes = sessionChanges;
  const username = $('merge-username').value;
  const password = $('merge-password').value;
  // Cleared whatever the answer: a failed attempt's password must not wait in the form.
  $('merge-username').value = '';
  $('merge-password').value = '';
  try {
    const { identityId } = await call('POST', '/aws/merge', { username, password });
    // Signed out (or in as someone else) meanwhile: the merge is not this page's to announce.
    if (sessionChanges !== changes) return;
    // Said first: a failed or late panel refresh must not hide that the merge was made.
    show(`Merged: ${username} now shares identity ${identityId}.`);
    refreshIdentity(changes).catch(fail);
  } catch (err) {
    if (sessionChanges === changes) fail(err);
  }
});

async function start() {
  const changes = sessionChanges;
  try {
    const config = await call('GET', '/demo/config');
    provider = config.provider;
    $('provider-name').textContent = provider;
    $('provider-label').textContent = provider;
    $('guest-button').hidden = !config.guests;
    $('link-provider').hidden = !config.canMintProviderTokens;
    sts = config.sts;
    $('verify-credentials').hidden = sts === null;
  } catch (err) {
    fail(err);
  }
  try {
    const { user } = await call('GET', '/me');
    if (sessionChanges !== changes) return;
    if (user === null) signedOut({ wipe: false });
    // The panel's errors are its own (and dropped if the session changes meanwhile).
    else signedIn(user).catch(fail);
  } catch (err) {
    if (sessionChanges === changes) fail(err);
  } finally {
    // Start-up has settled, whatever it found (a mark for tests: there is nothing else to wait for
    // when its answer was dropped).
    document.body.dataset.started = 'true';
  }
}

start();
