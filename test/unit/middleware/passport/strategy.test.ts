import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Request } from 'express';
import { BearerStrategy, type BearerStrategyOptions } from '../../../../src/middleware/passport/strategy.js';

type Outcome =
  | { kind: 'success'; user: unknown }
  | { kind: 'fail'; challenge: unknown; status: unknown }
  | { kind: 'error'; err: Error }
  | { kind: 'pass' };

/** Runs the strategy the way passport does: on Object.create(strategy) with the outcome methods. */
function run(options: BearerStrategyOptions<{ id: string }>, authorization?: string): Promise<Outcome[]> {
  const strategy = new BearerStrategy(options);
  const outcomes: Outcome[] = [];
  return new Promise((resolve) => {
    const settle = (o: Outcome): void => {
      outcomes.push(o);
      setImmediate(() => {
        resolve(outcomes);
      });
    };
    const s = Object.assign(Object.create(strategy) as BearerStrategy<{ id: string }>, {
      success: (user: unknown) => {
        settle({ kind: 'success', user });
      },
      fail: (challenge: unknown, status: unknown) => {
        settle({ kind: 'fail', challenge, status });
      },
      error: (err: Error) => {
        settle({ kind: 'error', err });
      },
      pass: () => {
        settle({ kind: 'pass' });
      },
    });
    const req = { headers: authorization === undefined ? {} : { authorization } } as unknown as Request;
    s.authenticate(req);
  });
}

const verify = (token: string): { id: string } | null => (token === 'good-token' ? { id: 'u1' } : null);

void it('succeeds with the user verify returns for a valid bearer token', async () => {
  assert.deepEqual(await run({ verify }, 'Bearer good-token'), [{ kind: 'success', user: { id: 'u1' } }]);
  assert.deepEqual(await run({ verify: (t) => Promise.resolve(verify(t)) }, 'bearer   good-token'), [
    { kind: 'success', user: { id: 'u1' } },
  ]);
});

void it('fails with 401 and a realm-only challenge when the header is missing', async () => {
  assert.deepEqual(await run({ verify }), [{ kind: 'fail', challenge: 'Bearer realm="aws"', status: 401 }]);
});

void it('passes when the header is missing and whenMissing is pass', async () => {
  assert.deepEqual(await run({ verify, whenMissing: 'pass' }), [{ kind: 'pass' }]);
  assert.deepEqual(await run({ verify, whenMissing: 'pass' }, 'Basic dXNlcjpwYXNz'), [{ kind: 'pass' }]);
});

void it('fails with invalid_request for a malformed header and invalid_token for a refused or odd token', async () => {
  assert.deepEqual(await run({ verify }, 'Bearer'), [
    { kind: 'fail', challenge: 'Bearer realm="aws", error="invalid_request"', status: 401 },
  ]);
  assert.deepEqual(await run({ verify }, 'Bearer nope'), [
    { kind: 'fail', challenge: 'Bearer realm="aws", error="invalid_token"', status: 401 },
  ]);
  assert.deepEqual(await run({ verify }, 'Bearer a"b'), [
    { kind: 'fail', challenge: 'Bearer realm="aws", error="invalid_token"', status: 401 },
  ]);
  assert.deepEqual(await run({ verify, realm: 'api' }, 'Bearer ' + 'x'.repeat(5000)), [
    { kind: 'fail', challenge: 'Bearer realm="api", error="invalid_token"', status: 401 },
  ]);
});

void it('errors (not fails) when verify throws or rejects, without the token in the error', async () => {
  const boom = new Error('directory down');
  const [thrown] = await run(
    {
      verify: () => {
        throw boom;
      },
    },
    'Bearer good-token',
  );
  assert.deepEqual(thrown, { kind: 'error', err: boom });
  const [rejected] = await run({ verify: () => Promise.reject(new Error('directory down')) }, 'Bearer good-token');
  assert.equal(rejected?.kind, 'error');
});

void it('refuses bad options with a TypeError', () => {
  assert.throws(() => new BearerStrategy({} as unknown as BearerStrategyOptions<unknown>), TypeError);
  assert.throws(() => new BearerStrategy({ verify, whenMissing: 'skip' as 'pass' }), TypeError);
  assert.throws(() => new BearerStrategy({ verify, realm: 'a"b' }), TypeError);
  assert.equal(new BearerStrategy({ verify, name: 'mobile' }).name, 'mobile');
});
