import assert from 'node:assert/strict';
import { ManualClock } from '../../helpers/manual-clock.js';
import { it } from 'node:test';
import { createRateLimiter } from '../../../src/middleware/index.js';
import { isBrokerError } from '../../../src/errors.js';

const manualClock = (): ManualClock => new ManualClock(1_000_000);

void it('allows max calls per window per key, then throws ERR_RATE_LIMITED with the seconds left', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ max: 3, windowSeconds: 60, clock });
  for (let i = 0; i < 3; i++) limiter.consume('alice');
  clock.advance(15_500);
  assert.throws(
    () => {
      limiter.consume('alice');
    },
    (err: unknown) =>
      isBrokerError(err) && err.code === 'ERR_RATE_LIMITED' && err.status === 429 && err.retryAfterSeconds === 45,
  );
  limiter.consume('bob');
  clock.advance(44_500);
  limiter.consume('alice');
});

void it('keeps at most maxUsers windows (the least recently seen are dropped)', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ max: 1, windowSeconds: 60, maxUsers: 2, clock });
  limiter.consume('a');
  limiter.consume('b');
  limiter.consume('c'); // evicts a
  limiter.consume('a'); // a starts a fresh window
  assert.throws(() => {
    limiter.consume('c');
  });
});

void it('check refuses a key at its limit without counting, and lets it through once the window ends', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ max: 2, windowSeconds: 60, clock });
  for (let i = 0; i < 10; i++) limiter.check('alice');
  limiter.consume('alice');
  limiter.check('alice');
  limiter.consume('alice');
  clock.advance(20_000);
  assert.throws(
    () => {
      limiter.check('alice');
    },
    (err: unknown) => isBrokerError(err) && err.code === 'ERR_RATE_LIMITED' && err.retryAfterSeconds === 40,
  );
  limiter.check('bob');
  clock.advance(40_000);
  limiter.check('alice');
});
