import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialIssuer, describeSessionToken } from '../../../src/emulator/session-token.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const REQUEST = {
  roleArn: 'arn:aws:iam::123456789012:role/Auth',
  identityId: 'us-east-1:11111111-2222-3333-4444-555555555555',
  sessionName: 'web',
  durationSeconds: 900,
};

void test('recognises the credentials it minted, with their session and secret', () => {
  const issuer = new CredentialIssuer();
  const c = issuer.issue(REQUEST, NOW);
  assert.match(c.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
  assert.equal(c.SecretKey.length, 40);
  assert.equal(c.Expiration, NOW / 1000 + 900);
  assert.deepEqual(issuer.resolve(c.AccessKeyId, c.SessionToken), {
    record: {
      accessKeyId: c.AccessKeyId,
      roleArn: REQUEST.roleArn,
      sessionName: 'web',
      identityId: REQUEST.identityId,
      expiration: c.Expiration,
    },
    secretAccessKey: c.SecretKey,
  });
  assert.deepEqual(describeSessionToken(c.SessionToken), {
    roleArn: REQUEST.roleArn,
    identityId: REQUEST.identityId,
    expiration: c.Expiration,
  });
});

void test('refuses another key id, a missing, altered or foreign session token', () => {
  const issuer = new CredentialIssuer();
  const c = issuer.issue(REQUEST, NOW);
  const other = issuer.issue(REQUEST, NOW);
  assert.equal(issuer.resolve(other.AccessKeyId, c.SessionToken), undefined);
  assert.equal(issuer.resolve(c.AccessKeyId, undefined), undefined);
  assert.equal(issuer.resolve(c.AccessKeyId, ''), undefined);
  // A later expiration written into the readable part breaks the MAC.
  const info = JSON.parse(Buffer.from(c.SessionToken.slice(400), 'base64').subarray(1).toString('utf8')) as Record<
    string,
    unknown
  >;
  const forged = `${c.SessionToken.slice(0, 400)}${Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify({ ...info, x: c.Expiration + 86_400 }))]).toString('base64')}`;
  assert.notEqual(describeSessionToken(forged), undefined);
  assert.equal(issuer.resolve(c.AccessKeyId, forged), undefined);
  assert.equal(new CredentialIssuer().resolve(c.AccessKeyId, c.SessionToken), undefined);
  assert.equal(issuer.resolve(c.AccessKeyId, 'A'.repeat(100_000)), undefined);
});

void test('keeps recognising credentials after a round trip through its JSON', () => {
  const issuer = new CredentialIssuer();
  const c = issuer.issue(REQUEST, NOW);
  const restored = CredentialIssuer.fromJSON(JSON.parse(JSON.stringify(issuer.toJSON())));
  assert.equal(restored.resolve(c.AccessKeyId, c.SessionToken)?.secretAccessKey, c.SecretKey);
  assert.throws(() => CredentialIssuer.fromJSON({ key: 'short' }), /expected \{"key"/);
  assert.throws(() => new CredentialIssuer(Buffer.alloc(8)), TypeError);
});
