// The example app's fleet-mode pieces that need no Redis: its sealing of values and naming of keys,
// the watch on values its keys cannot open, and what a Redis error at start means.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { redisStartFailure, watchRejectedEntries } from '../../../examples/express-app/fleet.js';
import { createSealer, sealedSessions } from '../../../examples/express-app/sealing.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const SECRET = 'the-fleet-session-secret';

void test('a sealed value opens with the same keys and for the same aad only; no plaintext in it', () => {
  const sealer = createSealer({ k1: K1 }, undefined, SECRET);
  const sealed = sealer.seal('user-alice', 'key-a');
  assert.ok(!sealed.includes('user-alice'));
  assert.notEqual(sealer.seal('user-alice', 'key-a'), sealed, 'a fresh IV each time');
  assert.equal(sealer.open(sealed, 'key-a'), 'user-alice');
  assert.equal(sealer.open(sealed, 'key-b'), undefined, 'copied under another key: refused');
  const [id, iv, body] = sealed.split('.');
  const flipped = `${id}.${iv}.${body!.slice(0, -2)}${body!.endsWith('A') ? 'B' : 'A'}${body!.slice(-1)}`;
  assert.equal(sealer.open(flipped, 'key-a'), undefined, 'altered: refused');
  assert.equal(sealer.open('not sealed at all', 'key-a'), undefined);
  assert.equal(sealer.rejected, 3);
});

void test('another instance with another key under the same id (or another id) cannot open it, and counts it', () => {
  const a = createSealer({ k1: K1 }, undefined, SECRET);
  const b = createSealer({ k1: K2 }, undefined, SECRET);
  const c = createSealer({ k2: K2 }, undefined, SECRET);
  const sealed = a.seal('{"passport":{"user":"user-alice"}}', 'session');
  assert.equal(b.open(sealed, 'session'), undefined);
  assert.equal(c.open(sealed, 'session'), undefined);
  assert.equal(b.rejected, 1);
  assert.equal(c.rejected, 1);
});

void test('rotation: with both keys, values under the old one still open while new ones use the current', () => {
  const old = createSealer({ k1: K1 }, undefined, SECRET);
  const both = createSealer({ k1: K1, k2: K2 }, 'k2', SECRET);
  assert.equal(both.open(old.seal('x', 'a'), 'a'), 'x');
  assert.match(both.seal('x', 'a'), /^k2\./);
});

void test('key names are an HMAC under a key derived from the secret, not a bare SHA-256', () => {
  const token = 'a-bearer-token';
  const name = createSealer({ k1: K1 }, undefined, SECRET).name(token);
  assert.notEqual(name, createHash('sha256').update(token).digest('base64url'));
  assert.notEqual(name, createHmac('sha256', SECRET).update(token).digest('base64url'));
  assert.equal(name, createSealer({ k1: K2 }, undefined, SECRET).name(token), 'the same on every instance');
  assert.notEqual(name, createSealer({ k1: K1 }, undefined, `${SECRET}-other`).name(token));
});

void test("connect-redis's serializer: a session sealed, and one that does not open reads as none", () => {
  const serializer = sealedSessions(createSealer({ k1: K1 }, undefined, SECRET));
  const session = { cookie: { originalMaxAge: null }, passport: { user: 'user-alice' }, guest: 'us-east-1:abc' };
  const text = serializer.stringify(session);
  assert.ok(!text.includes('user-alice') && !text.includes('us-east-1:abc'), text);
  assert.deepEqual(serializer.parse(text), session);
  const other = sealedSessions(createSealer({ k1: K2 }, undefined, SECRET));
  assert.equal(other.parse(text), null);
});

function capture(): { logger: Logger; lines: { msg: string; level: number }[] } {
  const lines: { msg: string; level: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as never) });
  return { logger, lines };
}

void test('rejected values: one warning the first time, /readyz mismatch while recent, ok after', () => {
  let rejected = 0;
  let now = 1_000_000;
  const { logger, lines } = capture();
  const watch = watchRejectedEntries(
    () => rejected,
    logger,
    () => now,
  );
  try {
    assert.equal(watch.keys(), 'ok');
    rejected = 2;
    assert.equal(watch.keys(), 'mismatch');
    rejected = 5;
    assert.equal(watch.keys(), 'mismatch');
    const warnings = lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(warnings[0]!.msg, /does not open with this instance's CACHE_ENCRYPTION_KEYS/);
    now += 6 * 60_000;
    assert.equal(watch.keys(), 'ok');
  } finally {
    watch.stop();
  }
});

void test('a Redis error at start: a refused password or an unknown host at once, a refusal to connect waited out', () => {
  const shown = 'redis://app:***@redis.internal:6379';
  const wrong = redisStartFailure(new Error('WRONGPASS invalid username-password pair or user is disabled.'), shown);
  assert.match(
    wrong?.line() ?? '',
    /Redis at redis:\/\/app:\*\*\*@redis\.internal:6379 refused the connection's credentials \(WRONGPASS\)/,
  );
  assert.match(redisStartFailure(new Error('NOAUTH Authentication required.'), shown)?.line() ?? '', /\(NOAUTH\)/);
  const dns = Object.assign(new Error('getaddrinfo ENOTFOUND redis.internal'), { code: 'ENOTFOUND' });
  assert.match(
    redisStartFailure(dns, shown)?.line() ?? '',
    /the host of REDIS_URL \(.*\) does not resolve \(ENOTFOUND\)/,
  );
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  assert.equal(redisStartFailure(refused, shown), undefined);
});
