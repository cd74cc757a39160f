import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretLedger } from '../helpers/security-stack.js';

// The leak checks of the security suites are only as good as this detector: prove it finds leaks.
void describe('SecretLedger (the secrets check of the security suites)', () => {
  void it('finds a remembered secret anywhere in the log, and in an error response', () => {
    const ledger = new SecretLedger();
    ledger.add('eyJraWQiOiJ1cy1lYXN0LTEtMSJ9.secret-part', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    ledger.assertNoLeak('{"msg":"token served","cache":"hit"}');
    assert.throws(() => {
      ledger.assertNoLeak(`${'x'.repeat(100_000)}"k":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`);
    }, /log contains a secret of 40 chars/);
    ledger.observe({
      status: 502,
      headers: {},
      text: '{"detail":"eyJraWQiOiJ1cy1lYXN0LTEtMSJ9.secret-part"}',
      body: {},
    } as never);
    assert.throws(() => {
      ledger.assertNoLeak('');
    }, /an error response contains a secret/);
  });

  void it('remembers the secrets a response carries: tokens, keys and cookie values', () => {
    const ledger = new SecretLedger();
    ledger.observe({
      status: 200,
      headers: { 'set-cookie': ['demo.sid=s%3AsessionCookieValue123.sig; Path=/; HttpOnly'] },
      text: '',
      body: {
        token: 'openid-token-value-123',
        secretAccessKey: 'secret-key-value-1234',
        sessionToken: 'session-token-value-1',
      },
    } as never);
    assert.equal(ledger.size, 5);
    for (const leaked of [
      'openid-token-value-123',
      'secret-key-value-1234',
      'session-token-value-1',
      's:sessionCookieValue123.sig',
    ]) {
      assert.throws(() => {
        ledger.assertNoLeak(`before ${leaked} after`);
      }, /log contains a secret/);
    }
  });
});
