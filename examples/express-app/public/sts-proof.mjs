/* global crypto, TextEncoder */
// The page's proof that its AWS credentials really sign a request: a SigV4-signed STS
// GetCallerIdentity, answered with the caller's assumed-role ARN. A SigV4 signer is a few HMACs, so it
// is written here on WebCrypto (browsers, workers, Node ≥ 20) instead of bundling the AWS SDK into
// the page. Secrets never leave this module except inside the signature.

const ALGORITHM = 'AWS4-HMAC-SHA256';
const QUERY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const FORM = 'application/x-www-form-urlencoded';
const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(text) {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey(
    'raw',
    typeof key === 'string' ? encoder.encode(key) : key,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return crypto.subtle.sign('HMAC', k, encoder.encode(text));
}

/** `2015-08-30T12:36:00.000Z` → `20150830T123600Z`. */
function amzDate(date) {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * SigV4 headers for a request without a query string: `Authorization`, `X-Amz-Date` and, with a
 * session token, `X-Amz-Security-Token`. `headers` are the other headers to sign (`host` among them:
 * the host the request finally reaches, which a browser cannot set itself); `path` is signed as given
 * (callers pass a normalised path such as `/`).
 *
 * @example
 * const signed = await signRequest({ method: 'POST', path: '/', headers: { host, 'content-type': FORM },
 *   body, region: 'us-east-1', service: 'sts', credentials });
 */
export async function signRequest({ method, path, headers, body, region, service, credentials, date = new Date() }) {
  const longDate = amzDate(date);
  const shortDate = longDate.slice(0, 8);
  const all = { ...headers, 'x-amz-date': longDate };
  if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(all)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [method, path, '', canonicalHeaders, signedHeaders, await sha256Hex(body)].join('\n');
  const scope = `${shortDate}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, longDate, scope, await sha256Hex(canonicalRequest)].join('\n');
  let key = await hmac(`AWS4${credentials.secretAccessKey}`, shortDate);
  for (const part of [region, service, 'aws4_request']) key = await hmac(key, part);
  const signature = hex(await hmac(key, stringToSign));
  const out = {
    Authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    'X-Amz-Date': longDate,
  };
  if (credentials.sessionToken) out['X-Amz-Security-Token'] = credentials.sessionToken;
  return out;
}

function xmlText(xml, tag) {
  const start = xml.indexOf(`<${tag}>`);
  const end = start < 0 ? -1 : xml.indexOf(`</${tag}>`, start);
  if (end < 0) return undefined;
  return xml
    .slice(start + tag.length + 2, end)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Calls STS GetCallerIdentity with `credentials`: signed for `host` (the STS endpoint's host) and sent
 * to `url` (the same-origin path that forwards it there byte for byte). Resolves `{ arn, account,
 * userId }`; rejects with an Error whose `code` is STS's error code (`SignatureDoesNotMatch`, …) and
 * whose message is STS's first line, with the credentials' secrets cut out.
 *
 * @example
 * const { arn } = await getCallerIdentity({ credentials: await provider(), url: '/sts', host, region });
 */
export async function getCallerIdentity({ credentials, url, host, region, fetch = globalThis.fetch, date }) {
  const headers = { 'content-type': FORM, host };
  const signed = await signRequest({
    method: 'POST',
    path: '/',
    headers,
    body: QUERY_BODY,
    region,
    service: 'sts',
    credentials,
    ...(date === undefined ? {} : { date }),
  });
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'Content-Type': FORM, ...signed },
    body: QUERY_BODY,
  });
  const xml = await res.text();
  if (res.ok) {
    const arn = xmlText(xml, 'Arn');
    if (arn !== undefined) return { arn, account: xmlText(xml, 'Account'), userId: xmlText(xml, 'UserId') };
  }
  let message = (xmlText(xml, 'Message') ?? `STS answered HTTP ${res.status}`).split('\n')[0];
  for (const secret of [credentials.secretAccessKey, credentials.sessionToken]) {
    if (secret) message = message.split(secret).join('<redacted>');
  }
  const err = new Error(message);
  err.code = xmlText(xml, 'Code') ?? `HTTP_${res.status}`;
  err.status = res.status;
  throw err;
}
