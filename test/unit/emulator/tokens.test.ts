import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { TokenSigner, mintProviderToken, verifyProviderToken, COGNITO_ISSUER } from '../../../src/emulator/tokens.js';

function reasonOf(r: { ok: boolean; reason?: string }): string {
  return r.reason ?? '';
}

const signerPromise = TokenSigner.create('us-east-1');

function decodePart(token: string, i: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[i]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

void test('signs RS512 JWTs with the exact header of the real service', async () => {
  const signer = await signerPromise;
  const token = signer.sign({ sub: 'us-east-1:abc', aud: 'us-east-1:pool', iat: 1, exp: 2 });
  assert.equal(
    Buffer.from(token.split('.')[0]!, 'base64url').toString(),
    '{"kid":"us-east-1-1","typ":"JWS","alg":"RS512"}',
  );
  const claims = decodePart(token, 1);
  assert.equal(claims.iss, COGNITO_ISSUER);
  assert.equal(claims.sub, 'us-east-1:abc');
  const v = signer.verify(token);
  assert.ok(v.ok);
  assert.deepEqual(v.claims, { sub: 'us-east-1:abc', aud: 'us-east-1:pool', iat: 1, exp: 2, iss: COGNITO_ISSUER });
});

void test('uses the China issuer in cn regions and honours options.issuer', async () => {
  const cn = await TokenSigner.create('cn-north-1');
  assert.equal(decodePart(cn.sign({}), 1).iss, 'https://cognito-identity.cn-north-1.amazonaws.com.cn');
  assert.equal(decodePart(cn.sign({}), 0).kid, 'cn-north-1-1');
  assert.equal(decodePart(cn.sign({ iss: 'x' }, { issuer: 'y' }), 1).iss, 'y');
});

void test('jose verifies emulator tokens against jwks()', async () => {
  const signer = await signerPromise;
  const now = Math.floor(Date.now() / 1000);
  const token = signer.sign({ sub: 'us-east-1:id', aud: 'us-east-1:pool', iat: now, exp: now + 900 });
  const jwks = signer.jwks();
  assert.equal(jwks.keys.length, 1);
  const key = jwks.keys[0] as Record<string, unknown>;
  assert.deepEqual(Object.keys(key).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
  assert.equal(key.alg, 'RS512');
  assert.equal(key.use, 'sig');
  assert.equal(key.kid, 'us-east-1-1');
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
    issuer: COGNITO_ISSUER,
    audience: 'us-east-1:pool',
    algorithms: ['RS512'],
  });
  assert.equal(payload.sub, 'us-east-1:id');
  assert.equal(protectedHeader.kid, 'us-east-1-1');
});

void test('verify refuses tampered, foreign and garbage tokens without throwing', async () => {
  const signer = await signerPromise;
  const other = await TokenSigner.create('us-east-1');
  const token = signer.sign({ sub: 'a' });
  const [h, p, s] = token.split('.') as [string, string, string];
  const forgedPayload = Buffer.from(JSON.stringify({ sub: 'b', iss: COGNITO_ISSUER })).toString('base64url');
  const cases: [string, RegExp][] = [
    [`${h}.${forgedPayload}.${s}`, /signature/],
    [other.sign({ sub: 'a' }), /signature/],
    [`${Buffer.from('{"kid":"us-east-1-1","alg":"none"}').toString('base64url')}.${p}.`, /base64url|alg/],
    [`${Buffer.from('{"kid":"us-east-1-1","alg":"RS256"}').toString('base64url')}.${p}.${s}`, /alg/],
    [`${Buffer.from('{"kid":"us-east-1-9","alg":"RS512"}').toString('base64url')}.${p}.${s}`, /kid/],
    [`${Buffer.from('{"alg":"RS512"}').toString('base64url')}.${p}.${s}`, /kid/],
    ['', /empty/],
    ['a.b', /JWS/],
    ['a.b.c.d', /JWS/],
    ['!!.??.**', /base64url/],
    ['e30.e30.e30', /alg/],
    ['bm90IGpzb24.e30.e30', /malformed/],
    ['x'.repeat(20000), /too long/],
  ];
  for (const [bad, reason] of cases) {
    const v = signer.verify(bad);
    assert.equal(v.ok, false, bad.slice(0, 40));
    assert.match(reasonOf(v), reason, bad.slice(0, 40));
  }
  assert.equal(signer.verify(42 as unknown as string).ok, false);
  assert.equal(signer.verify(null as unknown as string).ok, false);
});

void test('toJSON/fromJSON round-trips the keys; old tokens keep verifying', async () => {
  const signer = await signerPromise;
  const token = signer.sign({ sub: 'x' });
  const saved = JSON.parse(JSON.stringify(signer.toJSON())) as unknown;
  const restored = TokenSigner.fromJSON(saved);
  assert.equal(restored.region, 'us-east-1');
  assert.equal(restored.verify(token).ok, true);
  assert.deepEqual(restored.jwks(), signer.jwks());
  assert.equal(signer.verify(restored.sign({ sub: 'y' })).ok, true);
});

void test('rotate adds <region>-2, signs with it, keeps verifying the old key', async () => {
  const signer = await TokenSigner.create('eu-west-1');
  const old = signer.sign({ sub: 'x' });
  assert.equal(await signer.rotate(), 'eu-west-1-2');
  assert.equal(decodePart(signer.sign({}), 0).kid, 'eu-west-1-2');
  assert.equal(signer.verify(old).ok, true);
  assert.deepEqual(
    signer.jwks().keys.map((k) => (k as { kid: string }).kid),
    ['eu-west-1-1', 'eu-west-1-2'],
  );
  assert.equal(TokenSigner.fromJSON(signer.toJSON()).currentKid, 'eu-west-1-2');
});

void test('fromJSON refuses bad data with a clear message', async () => {
  const good = (await signerPromise).toJSON() as {
    region: string;
    keys: { kid: string; jwk: Record<string, unknown> }[];
  };
  const k = good.keys[0]!;
  const cases: [unknown, RegExp][] = [
    [null, /expected an object/],
    ['x', /expected an object/],
    [{ ...good, region: 'nowhere' }, /region/],
    [{ ...good, keys: [] }, /non-empty/],
    [{ ...good, keys: [k, k] }, /duplicate kid/],
    [{ ...good, keys: [{ ...k, kid: 'bad kid' }] }, /kid/],
    [{ ...good, keys: [{ kid: k.kid, jwk: { kty: 'RSA', n: k.jwk.n, e: k.jwk.e } }] }, /private RSA JWK/],
    [{ ...good, keys: [{ kid: k.kid, jwk: { ...k.jwk, d: 'AAAA', p: 'x' } }] }, /not a usable/],
    [{ ...good, keys: ['x'] }, /not an object/],
  ];
  for (const [data, msg] of cases) {
    assert.throws(
      () => TokenSigner.fromJSON(data),
      (err: Error) => {
        assert.match(err.message, /^TokenSigner\.fromJSON: /);
        assert.match(err.message, msg);
        return true;
      },
    );
  }
});

void test('create refuses a malformed region', async () => {
  await assert.rejects(TokenSigner.create('US East'), TypeError);
});

void test('provider tokens verify only for their provider, audience and lifetime', async () => {
  const signer = await signerPromise;
  const now = 1_700_000_000_000;
  const t = mintProviderToken(signer, 'graph.facebook.com', 'fb-user-1', 'app-123', 3600, now);
  assert.deepEqual(verifyProviderToken(signer, t, 'graph.facebook.com', 'app-123', now + 1000), {
    ok: true,
    subject: 'fb-user-1',
  });
  const no = (r: ReturnType<typeof verifyProviderToken>, re: RegExp): void => {
    assert.equal(r.ok, false);
    assert.match(reasonOf(r), re);
  };
  no(verifyProviderToken(signer, t, 'accounts.google.com', 'app-123', now), /another provider/);
  no(verifyProviderToken(signer, t, 'graph.facebook.com', 'app-999', now), /audience/);
  no(verifyProviderToken(signer, t, 'graph.facebook.com', 'app-123', now + 3600_000), /expired/);
  // An OpenID token from the same signer is not a provider token.
  const openId = signer.sign(
    { sub: 'fb-user-1', aud: 'app-123', exp: now / 1000 + 60 },
    { issuer: 'graph.facebook.com' },
  );
  no(verifyProviderToken(signer, openId, 'graph.facebook.com', 'app-123', now), /not a provider token/);
  // Forged: same claims, another key.
  const forger = await TokenSigner.create('us-east-1');
  no(
    verifyProviderToken(
      signer,
      mintProviderToken(forger, 'graph.facebook.com', 'fb-user-1', 'app-123', 3600, now),
      'graph.facebook.com',
      'app-123',
      now,
    ),
    /signature/,
  );
  no(verifyProviderToken(signer, 'garbage', 'graph.facebook.com', 'app-123', now), /JWS/);
  assert.throws(() => mintProviderToken(signer, '', 's', 'a', 1, now), /provider/);
  assert.throws(() => mintProviderToken(signer, 'p', 's', 'a', 0, now), /expiresInSeconds/);
});
