// The example app's password logins are rate-limited as a real app's must be: every attempt per
// client address, failed attempts per username. Answers are 429 problem+json with Retry-After,
// before the password is checked and before any Cognito call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { createApp, type AppDeps } from '../../examples/express-app/app.js';
import { addressKey } from '../../examples/express-app/login-limits.js';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createFakeBroker } from '../helpers/fake-broker.js';
import { assertProblem } from '../helpers/problem-assert.js';

async function withStack(fn: (s: AppStack) => Promise<void>, deps: Partial<AppDeps> = {}): Promise<void> {
  const stack = await startAppStack({ app: deps });
  try {
    await fn(stack);
  } finally {
    await stack.stop();
  }
}

const ALICE = { username: 'alice', password: 'alice-demo-pass' };
const BOB = { username: 'bob', password: 'bob-demo-pass' };

void describe('example app login rate limits', () => {
  void it('refuses a username after 10 failed logins from any address, even with the right password, until the window ends', async () => {
    const clock = new ManualClock();
    await withStack(
      async (s) => {
        // One guess per address: the per-address limit never trips, the per-username one does.
        const from = (i: number) => `198.51.100.${i}`;
        for (let i = 0; i < 10; i++) {
          const wrong = await request(s.app)
            .post('/login')
            .set('X-Forwarded-For', from(i))
            .send({ username: i % 2 === 0 ? 'alice' : ' ALICE', password: `guess-${i}` });
          assertProblem(wrong, 401, 'ERR_UNAUTHENTICATED');
        }
        s.emulator().resetCounters();
        clock.advance(60_000);
        for (const path of ['/login', '/api/tokens']) {
          const refused = await request(s.app).post(path).set('X-Forwarded-For', from(99)).send(ALICE);
          assertProblem(refused, 429, 'ERR_RATE_LIMITED');
          assert.equal(refused.headers['retry-after'], '840');
        }
        assert.deepEqual(s.emulator().counters(), {}, 'refused before any Cognito call');
        assert.equal((await request(s.app).post('/login').set('X-Forwarded-For', from(99)).send(BOB)).status, 200);
        clock.advance(840_000);
        assert.equal((await request(s.app).post('/login').set('X-Forwarded-For', from(99)).send(ALICE)).status, 200);
      },
      { trustProxy: true, loginRateLimit: { perAddress: { clock }, failuresPerUsername: { clock } } },
    );
  });

  void it('limits every login attempt per client address, successful or not, and ignores X-Forwarded-For unless the proxy is trusted', () =>
    withStack(async (s) => {
      for (let i = 0; i < 30; i++) {
        const res = await request(s.app)
          .post(i % 3 === 0 ? '/api/tokens' : '/login')
          .set('X-Forwarded-For', `203.0.113.${i}`)
          .send(i % 2 === 0 ? BOB : { username: `nobody-${i}`, password: 'x' });
        assert.equal(res.status, i % 2 === 0 ? 200 : 401, res.text);
      }
      // Without `trust proxy` every request above came from the socket's address.
      const refused = await request(s.app).post('/login').set('X-Forwarded-For', '203.0.113.200').send(BOB);
      assertProblem(refused, 429, 'ERR_RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    }));

  void it('counts the client address from the trusted proxy’s X-Forwarded-For, IPv6 by /64', () =>
    withStack(
      async (s) => {
        const login = (ip: string) => request(s.app).post('/login').set('X-Forwarded-For', ip).send(BOB);
        for (let i = 0; i < 3; i++) assert.equal((await login(`2001:db8:1:2::${i + 1}`)).status, 200);
        assertProblem(await login('2001:db8:1:2:ffff::9'), 429, 'ERR_RATE_LIMITED');
        assert.equal((await login('2001:db8:1:3::1')).status, 200);
        assert.equal((await login('192.0.2.1')).status, 200);
      },
      { trustProxy: true, loginRateLimit: { perAddress: { max: 3 } } },
    ));

  void it('keys addresses: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64', () => {
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
    assert.equal(addressKey('2001:0DB8:0000:0001:aaaa:bbbb:cccc:dddd'), '2001:db8:0:1::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey(undefined), 'unknown');
  });

  void it('refuses invalid limits and a bad trustProxy with a TypeError naming the option', () => {
    const app = (deps: Partial<AppDeps>) => () =>
      createApp({ broker: createFakeBroker(), sessionSecret: 'login-limits-session-secret', ...deps });
    assert.throws(app({ loginRateLimit: { perAddress: { max: 0 } } }), /loginRateLimit\.perAddress\.max/);
    assert.throws(
      app({ loginRateLimit: { failuresPerUsername: { windowSeconds: 1.5 } } }),
      /loginRateLimit\.failuresPerUsername\.windowSeconds/,
    );
    assert.throws(app({ trustProxy: {} as unknown as boolean }), /trustProxy must be/);
  });
});
