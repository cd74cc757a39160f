// The guest route's limit on new guest identities keys a client by its address, IPv6 by its /64:
// one subscriber holds a whole /64 and could otherwise take a fresh budget per address.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { addressKey } from '../../../src/middleware/address-key.js';
import { createRateLimiter, guestRoute } from '../../../src/middleware/index.js';
import { createFakeBroker } from '../../helpers/fake-broker.js';

void it('addressKey: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64 in one spelling', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('::ffff:cb00:7107'), '203.0.113.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('64:ff9b::198.51.100.1'), '64:ff9b:0:0::/64');
  assert.equal(addressKey(undefined), 'unknown');
  assert.equal(addressKey(''), 'unknown');
  assert.equal(addressKey('not an address'), 'not an address');
});

void it('POST /guest: new guests from one IPv6 /64 share one budget, another /64 has its own', async () => {
  const broker = createFakeBroker();
  const app = express();
  app.set('trust proxy', true);
  app.post('/guest', guestRoute({ broker, rateLimiter: createRateLimiter({ max: 3 }) }));
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows an error handler by its four parameters
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status((err as { status?: number }).status ?? 500).json({ code: (err as { code?: string }).code });
  });
  const from = (ip: string) => request(app).post('/guest').set('x-forwarded-for', ip);
  const statuses: number[] = [];
  for (let n = 1; n <= 6; n++) statuses.push((await from(`2001:db8:1:2::${n.toString(16)}`)).status);
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  assert.equal((await from('2001:db8:1:3::1')).status, 200, 'the next /64 is another client');
  assert.equal(broker.calls.getGuestCredentials, 4);
});
