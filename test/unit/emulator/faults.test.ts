import { test } from 'node:test';
import { ManualClock } from '../../helpers/manual-clock.js';
import assert from 'node:assert/strict';
import { FaultController, validateFaultSpec } from '../../../src/emulator/faults.js';
import type { FaultSpec } from '../../../src/emulator/types.js';

const T0 = 1_700_000_000_000;

void test('counts every call per operation, including failed ones, until reset', async () => {
  const f = new FaultController();
  f.set('GetId', { error: 'InternalErrorException' });
  await f.apply('GetId', T0);
  await f.apply('GetId', T0);
  await f.apply('ListIdentities', T0);
  assert.deepEqual(f.counters(), { GetId: 2, ListIdentities: 1 });
  f.resetCounters();
  assert.deepEqual(f.counters(), {});
});

void test('throttles past throttleRps in a sliding one-second window', async () => {
  const f = new FaultController();
  f.set('GetOpenIdTokenForDeveloperIdentity', { throttleRps: 3 });
  const op = 'GetOpenIdTokenForDeveloperIdentity';
  const at = async (ms: number): Promise<string> => (await f.apply(op, T0 + ms))?.type ?? 'ok';
  assert.deepEqual(
    [await at(0), await at(100), await at(200), await at(300)],
    ['ok', 'ok', 'ok', 'TooManyRequestsException'],
  );
  assert.equal(await at(999), 'TooManyRequestsException');
  // At 1000 ms the call from 0 ms has left the window, so one slot frees up.
  assert.equal(await at(1000), 'ok');
  assert.equal(await at(1001), 'TooManyRequestsException');
  assert.equal(await at(1101), 'ok');
  const e = await f.apply(op, T0 + 1102);
  assert.deepEqual(e, { type: 'TooManyRequestsException', message: 'Rate exceeded', status: 400 });
  // Other operations are unaffected.
  assert.equal(await f.apply('GetId', T0 + 1102), null);
});

void test('a * throttle limits each operation separately', async () => {
  const f = new FaultController();
  f.set('*', { throttleRps: 1 });
  assert.equal(await f.apply('GetId', T0), null);
  assert.equal(await f.apply('ListIdentities', T0), null);
  assert.equal((await f.apply('GetId', T0))?.type, 'TooManyRequestsException');
});

void test('error with count fails exactly the next N calls', async () => {
  const f = new FaultController();
  f.set('GetId', { error: 'InternalErrorException', count: 2 });
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await f.apply('GetId', T0));
  assert.deepEqual(
    results.map((r) => r?.status ?? 200),
    [500, 500, 200, 200],
  );
  assert.equal(results[0]?.type, 'InternalErrorException');
  f.set('GetId', { error: 'NotAuthorizedException', count: 1 });
  assert.deepEqual(await f.apply('GetId', T0), {
    type: 'NotAuthorizedException',
    message: 'Injected fault: not authorized.',
    status: 400,
  });
});

void test('error with rate fails that fraction, drawing from the injected random source', async () => {
  const draws = [0.1, 0.5, 0.29, 0.3, 0.9];
  const f = new FaultController(Date, () => draws.shift() ?? 1);
  f.set('GetId', { error: 'ExternalServiceException', rate: 0.3 });
  const out = [];
  for (let i = 0; i < 5; i++) out.push((await f.apply('GetId', T0))?.type ?? 'ok');
  assert.deepEqual(out, ['ExternalServiceException', 'ok', 'ExternalServiceException', 'ok', 'ok']);
  const always = new FaultController();
  always.set('GetId', { error: 'InternalErrorException' });
  for (let i = 0; i < 3; i++) assert.equal((await always.apply('GetId', T0))?.status, 500);
});

void test('latency delays the answer; the longer of op and * applies', async () => {
  // Told by the order in which the call and reference timers finish, not by elapsed time: timers
  // fire in the order they are due, however busy the machine is.
  const f = new FaultController();
  f.set('GetId', { latencyMs: 30 });
  f.set('*', { latencyMs: 400, error: 'InternalErrorException' });
  const order: string[] = [];
  const call = async (): Promise<unknown> => {
    const r = await f.apply('GetId', T0);
    order.push('GetId');
    return r;
  };
  const mark = (label: string, ms: number): Promise<void> =>
    new Promise((resolve) =>
      setTimeout(() => {
        order.push(label);
        resolve();
      }, ms),
    );
  const [r] = await Promise.all([call(), mark('200 ms', 200)]);
  assert.deepEqual(order, ['200 ms', 'GetId'], 'GetId waited the * latency (400), not its own (30)');
  assert.equal((r as { type?: string } | null)?.type, 'InternalErrorException');
  f.set('*', null);
  order.length = 0;
  const [again] = await Promise.all([call(), mark('1 ms', 1), mark('200 ms', 200)]);
  assert.equal(again, null);
  assert.deepEqual(order, ['1 ms', 'GetId', '200 ms'], 'GetId waits its own 30 ms only');
});

void test('the op fault is checked before the * fault', async () => {
  const f = new FaultController();
  f.set('GetId', { error: 'NotAuthorizedException' });
  f.set('*', { error: 'InternalErrorException' });
  assert.equal((await f.apply('GetId', T0))?.type, 'NotAuthorizedException');
  assert.equal((await f.apply('GetCredentialsForIdentity', T0))?.type, 'InternalErrorException');
  f.clear();
  assert.equal(await f.apply('GetId', T0), null);
});

void test('apply without a time uses the injected clock', async () => {
  const clock = new ManualClock(T0);
  const f = new FaultController(clock);
  f.set('GetId', { throttleRps: 1 });
  assert.equal(await f.apply('GetId'), null);
  assert.equal((await f.apply('GetId'))?.type, 'TooManyRequestsException');
  clock.advance(1000);
  assert.equal(await f.apply('GetId'), null);
});

void test('invalid fault specs throw a TypeError naming the problem', () => {
  const f = new FaultController();
  const bad: [unknown, RegExp][] = [
    [{ error: 'NoSuchException' }, /fault\.error must be one of .*InternalErrorException/],
    [{ throttleRps: -1 }, /fault\.throttleRps must be a number in \[0/],
    [{ latencyMs: Number.NaN }, /latencyMs .*got NaN/],
    [{ latencyMs: 10_000_000 }, /latencyMs/],
    [{ error: 'InternalErrorException', count: 1.5 }, /fault\.count must be an integer/],
    [{ error: 'InternalErrorException', count: -2 }, /count/],
    [{ error: 'InternalErrorException', rate: 2 }, /fault\.rate must be a number in \[0, 1\]/],
    [{ count: 1 }, /need fault\.error/],
    [{ error: 'InternalErrorException', count: 1, rate: 0.5 }, /cannot be combined/],
    [{ errorr: 'InternalErrorException' }, /unknown field "errorr"/],
    [[], /must be an object/],
    [undefined, /must be an object/],
    ['x', /must be an object/],
  ];
  for (const [spec, msg] of bad)
    assert.throws(
      () => {
        f.set('GetId', spec as FaultSpec);
      },
      (e: Error) => e instanceof TypeError && msg.test(e.message),
    );
  assert.throws(() => {
    f.set('', {});
  }, TypeError);
  assert.throws(() => {
    f.set('Get Id', {});
  }, /operation name/);
  assert.deepEqual(validateFaultSpec({ throttleRps: 5, latencyMs: 0 }), { throttleRps: 5, latencyMs: 0 });
  f.set('GetId', { latencyMs: 5 });
  assert.deepEqual(f.get('GetId'), { latencyMs: 5 });
  f.set('GetId', null);
  assert.equal(f.get('GetId'), undefined);
});
