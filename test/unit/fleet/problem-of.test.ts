// Which Redis error replies are a misconfiguration (retrying cannot fix them: stats().fleet.problem)
// and which an outage (the tier degrades and tries again). The texts are those Redis 7.0.15
// (Debian's redis-server) sent to node-redis, read off a real server and cluster: a script's ACL
// denials, CROSSSLOT, MOVED, ASK, WRONGTYPE, OOM (maxmemory 1mb, noeviction), CLUSTERDOWN,
// READONLY, TRYAGAIN, NOAUTH, WRONGPASS, ECONNREFUSED; LOADING from Redis's source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PROBLEM_LOG_EVERY_MS,
  problemOf,
  RedisRunner,
  RedisUnavailable,
  script,
  type FleetRedisClient,
} from '../../../src/fleet/runner.js';
import type { RedisProblem } from '../../../src/broker/seam-types.js';
import { logSink } from '../../helpers/log-sink.js';

/** An error reply as node-redis gives it (an Error whose message is the reply's text). */
const reply = (text: string): Error => new Error(text);

const SHA = '11a99c373546e335a8806632b9bf7a4eacdc2333';
const IN_SCRIPT = ` script: ${SHA}, on @user_script:1.`;

/** Misconfigurations, on either kind of client. */
const PROBLEMS: [string, RedisProblem][] = [
  // EVALSHA and EVAL refused by the ACL (ACL SETUSER u ... -evalsha -eval).
  ["NOPERM this user has no permissions to run the 'evalsha' command", 'NOPERM'],
  ["NOPERM this user has no permissions to run the 'eval' command", 'NOPERM'],
  // A script's KEYS outside the user's key patterns.
  ['NOPERM this user has no permissions to access one of the keys used as arguments', 'NOPERM'],
  // Inside a script (Redis 7.0 words an ACL denial there as an ERR): a command refused (-publish), a
  // channel refused (a user made without &*: Redis 7 gives new users no channel), a key refused.
  [`ERR The user executing the script can't run this command or subcommand${IN_SCRIPT}`, 'NOPERM'],
  [`ERR The user executing the script can't publish to the channel mentioned in the command${IN_SCRIPT}`, 'NOPERM'],
  [
    `ERR The user executing the script can't access at least one of the keys mentioned in the command arguments${IN_SCRIPT}`,
    'NOPERM',
  ],
  // A script given KEYS of two slots, on a cluster node; one that reaches a key not in its KEYS.
  ["CROSSSLOT Keys in request don't hash to the same slot", 'CROSSSLOT'],
  [`ERR Script attempted to access a non local key in a cluster node${IN_SCRIPT}`, 'CROSSSLOT'],
  // A key of the tier's holding another type, read by a script and by a command.
  [`WRONGTYPE Operation against a key holding the wrong kind of value${IN_SCRIPT}`, 'WRONGTYPE'],
  ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE'],
  // maxmemory 1mb with noeviction: refused before the script runs, and inside it.
  ["OOM command not allowed when used memory > 'maxmemory'.", 'OOM'],
  [`OOM command not allowed when used memory > 'maxmemory'.${IN_SCRIPT}`, 'OOM'],
  // EVALSHA and EVAL renamed away (scripting off on a managed server); a command a script calls
  // that this server lacks (SPUBLISH before Redis 7), and one sent directly.
  [
    "ERR unknown command 'EVALSHA', with args beginning with: '0000000000000000000000000000000000000000' '1' ",
    'NOSCRIPT',
  ],
  ["ERR unknown command 'eval', with args beginning with: 'return 1' '0' ", 'NOSCRIPT'],
  [`ERR Unknown Redis command called from script${IN_SCRIPT}`, 'UNKNOWN_COMMAND'],
  ["ERR unknown command 'SPUBLISH', with args beginning with: 'ch' 'm' ", 'UNKNOWN_COMMAND'],
  // Credentials refused.
  ['NOAUTH Authentication required.', 'NOAUTH'],
  ['WRONGPASS invalid username-password pair or user is disabled.', 'NOAUTH'],
];

/** A single-node client talking to a cluster node: the redirections it cannot follow. */
const REDIRECTS = ['MOVED 15495 127.0.0.1:44973', 'ASK 15891 127.0.0.1:35125'];

/** Outages: a failover or a resharding under way, a server starting, a timeout, a lost connection. */
const TRANSIENT = [
  'CLUSTERDOWN Hash slot not served',
  'CLUSTERDOWN The cluster is down',
  "READONLY You can't write against a read only replica.",
  `READONLY You can't write against a read only replica.${IN_SCRIPT}`,
  'LOADING Redis is loading the dataset in memory',
  'TRYAGAIN Multiple keys request during rehashing of slot',
  'connect ECONNREFUSED 127.0.0.1:38191',
  'The client is closed',
  'Socket closed unexpectedly',
  // The runner's own (a command unanswered, a connection not made).
  'no answer from Redis within 250 ms',
  'the Redis client is not connected',
];

void describe('problemOf', () => {
  for (const [text, problem] of PROBLEMS) {
    void it(`${problem}: ${text.slice(0, 70)}`, () => {
      assert.equal(problemOf(reply(text), false), problem);
      assert.equal(problemOf(reply(text), true), problem);
    });
  }

  void it('MOVED and ASK: a misconfiguration for a single-node client, not for a cluster client', () => {
    for (const text of REDIRECTS) {
      assert.equal(problemOf(reply(text), false), 'MOVED', text);
      // A cluster client follows redirections; one that reaches the tier is a move under way.
      assert.equal(problemOf(reply(text), true), undefined, text);
    }
  });

  void it('transient errors are not problems', () => {
    for (const text of TRANSIENT) {
      assert.equal(problemOf(reply(text), false), undefined, text);
      assert.equal(problemOf(reply(text), true), undefined, text);
    }
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    assert.equal(problemOf(refused, false), undefined);
    assert.equal(problemOf('not an error', false), undefined);
    assert.equal(problemOf(undefined, true), undefined);
  });
});

void describe('RedisRunner.problem', () => {
  /** A client whose every command fails with `text` until `fix()` (and again after `breakAgain()`). */
  function failing(text: string): { client: FleetRedisClient; fix: () => void; breakAgain: () => void } {
    let fixed = false;
    const send = (): Promise<unknown> => (fixed ? Promise.resolve('ok') : Promise.reject(reply(text)));
    const client = {
      isReady: true,
      evalSha: send,
      eval: send,
      duplicate: () => {
        throw new Error('not used');
      },
      on: () => undefined,
    } as unknown as FleetRedisClient;
    return {
      client,
      fix: () => {
        fixed = true;
      },
      breakAgain: () => {
        fixed = false;
      },
    };
  }

  void it('a script refused a channel by the ACL is NOPERM, said once at error level, cleared by a probe', async () => {
    const { client, fix } = failing(
      `ERR The user executing the script can't publish to the channel mentioned in the command${IN_SCRIPT}`,
    );
    const logs = logSink();
    let t = 0;
    const runner = new RedisRunner({ client, commandTimeoutMs: 250, retryMs: 100, log: logs.logger, now: () => t });
    await assert.rejects(runner.run(script('return 1'), ['k'], []), RedisUnavailable);
    assert.equal(runner.problem, 'NOPERM');
    assert.equal(runner.degraded, true);
    t += 100;
    await assert.rejects(runner.run(script('return 1'), ['k'], []), RedisUnavailable);
    const errors = logs.lines().filter((l) => l.level === 50);
    assert.equal(errors.length, 1, 'one error line for the kind');
    assert.equal(errors[0]?.problem, 'NOPERM');
    assert.doesNotMatch(logs.text(), /return 1/, 'no script text in the log');
    fix();
    t += 100;
    assert.equal(await runner.run(script('return 1'), ['k'], []), 'ok');
    assert.equal(runner.problem, undefined);
    assert.equal(runner.degraded, false);
  });

  void it('NOSCRIPT (a flush, restart or failover lost the script) is no problem: the source is sent once', async () => {
    let evals = 0;
    const client = {
      isReady: true,
      evalSha: () => Promise.reject(reply('NOSCRIPT No matching script. Please use EVAL.')),
      eval: () => {
        evals += 1;
        return Promise.resolve('ok');
      },
      duplicate: () => {
        throw new Error('not used');
      },
      on: () => undefined,
    } as unknown as FleetRedisClient;
    const logs = logSink();
    const runner = new RedisRunner({ client, commandTimeoutMs: 250, retryMs: 100, log: logs.logger, now: () => 0 });
    assert.equal(await runner.run(script('return 1'), ['k'], []), 'ok');
    assert.equal(evals, 1);
    assert.equal(runner.problem, undefined);
    assert.equal(runner.degraded, false);
    assert.equal(runner.errors, 0);
  });

  void it('a problem met again after a probe cleared it is said again only after PROBLEM_LOG_EVERY_MS', async () => {
    // Some commands refused, others not (a single-node client on one node of a cluster: MOVED for
    // the keys of the other nodes): every successful probe clears the problem, the next refusal
    // sets it again.
    const { client, fix, breakAgain } = failing('MOVED 15495 127.0.0.1:44973');
    const logs = logSink();
    let t = 0;
    const runner = new RedisRunner({ client, commandTimeoutMs: 250, retryMs: 100, log: logs.logger, now: () => t });
    const said = (): number => logs.lines().filter((l) => l.level === 50 && l.problem === 'MOVED').length;
    for (let round = 0; round < 5; round++) {
      breakAgain();
      await assert.rejects(runner.run(script('return 1'), ['k'], []), RedisUnavailable);
      assert.equal(runner.problem, 'MOVED');
      t += 100;
      fix();
      await runner.run(script('return 1'), ['k'], []);
      assert.equal(runner.problem, undefined);
      assert.equal(runner.degraded, false);
    }
    assert.equal(runner.degradations, 5);
    assert.equal(said(), 1, 'one error line for five rounds');
    t += PROBLEM_LOG_EVERY_MS;
    breakAgain();
    await assert.rejects(runner.run(script('return 1'), ['k'], []), RedisUnavailable);
    assert.equal(said(), 2, 'said again once the interval passed');
  });

  void it('an outage sets no problem', async () => {
    const { client } = failing('CLUSTERDOWN Hash slot not served');
    const logs = logSink();
    const runner = new RedisRunner({ client, commandTimeoutMs: 250, retryMs: 100, log: logs.logger, now: () => 0 });
    await assert.rejects(runner.run(script('return 1'), ['k'], []), RedisUnavailable);
    assert.equal(runner.degraded, true);
    assert.equal(runner.problem, undefined);
    assert.equal(logs.lines().filter((l) => l.level === 50).length, 0);
  });
});
