// examples/express-app/dev-log.ts: the terminal's default log, one short line per request, no secrets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import { devLogStream, formatDevLine } from '../../examples/express-app/dev-log.js';
import { redactPaths } from '../../src/index.js';
import { DEMO_PROVIDER, startAppStack } from '../helpers/app-stack.js';

const isRequestLine = (line: string): boolean =>
  /^(?:GET|POST|DELETE) \/\S* \d{3} \d+ms$/.test(line.replace(/^(?:warn|error) +/, ''));

void describe('the example app’s dev log', () => {
  void it('writes one short line per request (method, path, status, ms) and no token, secret, password or cookie', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info', redact: [...redactPaths] },
      devLogStream({ write: (t: string) => lines.push(...t.split('\n').filter((l) => l !== '')) }),
    );
    const s = await startAppStack({ app: { logger } });
    try {
      const agent = request.agent(s.app);
      const login = await agent.post('/login').send({ username: 'alice', password: 'alice-demo-pass' });
      assert.equal(login.status, 200, login.text);
      const cookie = (login.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
      assert.match(cookie, /^demo\.sid=.{20,}/);
      const token = (await agent.get('/aws/token?secret=query-secret-value')).body as { token: string };
      const creds = (await agent.get('/aws/credentials')).body as { secretAccessKey: string; sessionToken: string };
      const providerToken = s.emulator().mintProviderToken(DEMO_PROVIDER, 'dev-log');
      assert.equal(
        (await agent.post('/aws/logins').send({ provider: DEMO_PROVIDER, token: providerToken })).status,
        200,
      );
      const bearer = (
        (await request(s.app).post('/api/tokens').send({ username: 'bob', password: 'bob-demo-pass' })).body as {
          accessToken: string;
        }
      ).accessToken;
      assert.equal((await request(s.app).get('/aws/identity').set('Authorization', `Bearer ${bearer}`)).status, 200);
      assert.equal(
        (await request(s.app).post('/login').send({ username: 'alice', password: 'wrong-pass' })).status,
        401,
      );

      const requests = lines.filter(isRequestLine);
      assert.deepEqual(
        requests.map((l) => l.replace(/ \d+ms$/, '').replace(/^(warn|error) +/, '')),
        [
          'POST /login 200',
          'GET /aws/token 200',
          'GET /aws/credentials 200',
          'POST /aws/logins 200',
          'POST /api/tokens 200',
          'GET /aws/identity 200',
          'POST /login 401',
        ],
      );
      for (const line of lines) assert.ok(line.length <= 160, `a long line: ${line}`);
      const text = lines.join('\n');
      for (const secret of [
        token.token,
        creds.secretAccessKey,
        creds.sessionToken,
        providerToken,
        bearer,
        cookie,
        cookie.slice('demo.sid='.length),
        'alice-demo-pass',
        'wrong-pass',
        'query-secret-value',
      ]) {
        assert.equal(text.includes(secret), false, `the dev log contains ${secret.slice(0, 12)}…`);
      }
    } finally {
      await s.stop();
    }
  });

  void it('shows neither headers nor query strings of a request line it is given unredacted, and escapes control characters', () => {
    const line = formatDevLine(
      JSON.stringify({
        level: 30,
        msg: 'request completed',
        req: {
          method: 'GET',
          url: '/aws/credentials?access_token=tok-in-query',
          headers: { cookie: 'demo.sid=s%3Acookie-value', authorization: 'Bearer bearer-value' },
        },
        res: { statusCode: 200, headers: { 'set-cookie': 'demo.sid=set-cookie-value' } },
        responseTime: 3.4,
      }),
    );
    assert.equal(line, 'GET /aws/credentials 200 3ms');
    assert.equal(
      formatDevLine(
        JSON.stringify({
          level: 30,
          req: { method: 'GET', url: '/\u001b[2Jx' },
          res: { statusCode: 404 },
          responseTime: 1,
        }),
      ),
      'GET /\\u001b[2Jx 404 1ms',
    );
  });

  void it('writes other messages as level, message and their code, never their objects', () => {
    assert.equal(
      formatDevLine(
        JSON.stringify({
          level: 40,
          msg: 'guest identity not upgraded',
          step: 'afterLogin',
          code: 'ERR_COGNITO_THROTTLED',
          component: 'cognito-middleware',
          req: { headers: { cookie: 'demo.sid=abc' } },
        }),
      ),
      'warn  guest identity not upgraded code=ERR_COGNITO_THROTTLED step=afterLogin component=cognito-middleware',
    );
    assert.equal(formatDevLine('not json\n'), 'not json');
  });
});
