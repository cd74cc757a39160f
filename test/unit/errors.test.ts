import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BrokerError, ERROR_KINDS, type BrokerErrorCode } from '../../src/errors.js';

void it('gives every code one HTTP status and one problem title, from one table', () => {
  for (const [code, kind] of Object.entries(ERROR_KINDS) as [BrokerErrorCode, { status: number; title: string }][]) {
    assert.match(code, /^ERR_[A-Z_]+$/);
    assert.ok(Number.isInteger(kind.status) && kind.status >= 400 && kind.status <= 599, code);
    assert.ok(kind.title.length > 0, code);
    const err = new BrokerError(code, 'm');
    assert.equal(err.status, kind.status, code);
    assert.equal(err.expose, kind.status < 500, code);
  }
  assert.equal(
    new BrokerError('ERR_COGNITO_UNAVAILABLE', 'm', { status: 503 }).status,
    503,
    'status may be overridden',
  );
});
