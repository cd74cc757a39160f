import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CognitoIdentity,
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
  ListIdentityPoolsCommand,
  LookupDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { STS } from '@aws-sdk/client-sts';
import { startEmulator } from '../../src/emulator/index.js';
import { readStateFile } from '../../src/emulator/state-file.js';
import { startBin, type EmulatorBin } from '../helpers/emulator-bin.js';

const DEV = 'login.crash.app';
const CREDS = { accessKeyId: 'AKIDCRASH', secretAccessKey: 'crash-secret' };
/** Calls started in all; the process is killed once KILL_AT of them are acknowledged. */
const TOTAL = 400;
const KILL_AT = 150;
const CONCURRENCY = 16;

function client(endpoint: string): CognitoIdentityClient {
  return new CognitoIdentityClient({ region: 'us-east-1', endpoint, credentials: CREDS, maxAttempts: 1 });
}

/**
 * Creates identities from CONCURRENCY workers against the bin, SIGKILLs it once KILL_AT calls are
 * acknowledged, lets `between` look at (or damage) the files, restarts it on the same file and
 * returns the acknowledged identities it lost.
 */
async function crashUnderLoad(
  t: { after(fn: () => Promise<void>): void },
  extraArgs: readonly string[],
  between: (stateFile: string) => void,
): Promise<{ lost: string[]; acknowledged: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cib-crash-'));
  const stateFile = join(dir, 'state.json');
  const running: EmulatorBin[] = [];
  t.after(async () => {
    for (const bin of running) await bin.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const args = ['--state-file', stateFile, '--seed', `crash pool:${DEV}`, ...extraArgs];

  const first = await startBin(args, 1);
  running.push(first);
  const poolId = (JSON.parse(first.lines[0] ?? '{}') as { identityPoolId: string }).identityPoolId;
  const c1 = client(first.endpoint);
  const acknowledged = new Map<string, string>();
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const user = `user-${next++}`;
      try {
        const out = await c1.send(
          new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId: poolId, Logins: { [DEV]: user } }),
        );
        acknowledged.set(user, out.IdentityId ?? '');
        // Kill at once, while the other workers' calls are still in flight.
        if (acknowledged.size === KILL_AT) first.child.kill('SIGKILL');
      } catch {
        failed++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  c1.destroy();
  const exit = await first.exit;
  assert.equal(exit.signal, 'SIGKILL', 'the process was killed, not stopped');
  assert.ok(acknowledged.size >= KILL_AT, `acknowledged ${acknowledged.size}`);
  assert.ok(failed > 0, 'calls were in flight when the process died');
  between(stateFile);

  const second = await startBin(args, 1);
  running.push(second);
  const c2 = client(second.endpoint);
  const lost: string[] = [];
  const users = [...acknowledged.keys()];
  const check = async (): Promise<void> => {
    for (let user = users.pop(); user !== undefined; user = users.pop()) {
      const out = await c2
        .send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, DeveloperUserIdentifier: user }))
        .catch(() => undefined);
      if (out?.IdentityId !== acknowledged.get(user)) lost.push(user);
    }
  };
  await Promise.all(Array.from({ length: 8 }, check));
  c2.destroy();
  const stopped = await second.stop();
  assert.equal(stopped.code, 0);
  return { lost, acknowledged: acknowledged.size };
}

void test('every change acknowledged before a SIGKILL under concurrent load is there after a restart', async (t) => {
  const { lost, acknowledged } = await crashUnderLoad(t, [], (stateFile) => {
    // Every change since the start is in the log (far from the size that compacts it).
    const onDisk = readStateFile(stateFile);
    assert.ok(onDisk !== undefined && onDisk.changes.length > 0);
    assert.equal(onDisk.generation, 1);
    // A crash during an append leaves part of a record at the end: it was never acknowledged.
    appendFileSync(`${stateFile}.log`, '0123abcd {"n":99999,"change":{"regions":{"us-east-1":{"se');
  });
  assert.deepEqual(lost, [], `${lost.length} of ${acknowledged} acknowledged identities were lost`);
});

void test('no acknowledged change is lost to a SIGKILL while the log is being compacted under load', async (t) => {
  let generation = 0;
  // A log larger than the snapshot is folded into a new one: several times during this load.
  const { lost, acknowledged } = await crashUnderLoad(t, ['--state-log-bytes', '0'], (stateFile) => {
    generation = readStateFile(stateFile)?.generation ?? 0;
  });
  assert.ok(generation >= 3, `compacted under load: generation ${generation}`);
  assert.deepEqual(lost, [], `${lost.length} of ${acknowledged} acknowledged identities were lost`);
});

void test('a change that cannot be written is refused with InternalErrorException and not made', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cib-fail-'));
  const dir = join(root, 'state');
  mkdirSync(dir);
  const stateFile = join(dir, 'state.json');
  const emu = await startEmulator({ stateFile });
  const c = client(emu.endpoint);
  t.after(async () => {
    c.destroy();
    await emu.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  const kept = await c.send(
    new CreateIdentityPoolCommand({ IdentityPoolName: 'kept', AllowUnauthenticatedIdentities: false }),
  );

  // The folder goes away (as a disk that fails would make every write fail): no write can succeed.
  rmSync(dir, { recursive: true, force: true });
  const refused = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) =>
      c.send(new CreateIdentityPoolCommand({ IdentityPoolName: `lost-${i}`, AllowUnauthenticatedIdentities: false })),
    ),
  );
  for (const r of refused) {
    assert.equal(r.status, 'rejected');
    const err = r.reason as { name: string; message: string; $metadata: { httpStatusCode?: number } };
    assert.equal(err.name, 'InternalErrorException');
    assert.equal(err.$metadata.httpStatusCode, 500);
    assert.match(err.message, /could not be saved, so it was not made/);
  }
  // Read-only calls do not wait for a write, and see the state as it is on disk.
  const listed = await c.send(new ListIdentityPoolsCommand({ MaxResults: 60 }));
  assert.deepEqual(
    listed.IdentityPools?.map((p) => p.IdentityPoolName),
    ['kept'],
  );

  mkdirSync(dir);
  const after = await c.send(
    new CreateIdentityPoolCommand({ IdentityPoolName: 'after', AllowUnauthenticatedIdentities: false }),
  );
  await emu.stop();
  const again = await startEmulator({ stateFile });
  const c2 = client(again.endpoint);
  try {
    const pools = await c2.send(new ListIdentityPoolsCommand({ MaxResults: 60 }));
    assert.deepEqual(
      pools.IdentityPools?.map((p) => p.IdentityPoolId).sort(),
      [kept.IdentityPoolId, after.IdentityPoolId].sort(),
    );
  } finally {
    c2.destroy();
    await again.stop();
  }
});

void test('a call that found a change not yet on disk is not acknowledged when that change is refused', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cib-dirty-'));
  const dir = join(root, 'state');
  mkdirSync(dir);
  const stateFile = join(dir, 'state.json');
  const emu = await startEmulator({ stateFile, seed: [{ name: 'dirty', developerProviderName: DEV }] });
  const poolId = emu.pools[0]!.identityPoolId;
  // Two clients, so that the calls of each pair travel on separate connections, side by side.
  const a = client(emu.endpoint);
  const b = client(emu.endpoint);
  t.after(async () => {
    a.destroy();
    b.destroy();
    await emu.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  const token = (c: CognitoIdentityClient, user: string) =>
    c.send(new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId: poolId, Logins: { [DEV]: user } }));
  await token(a, 'warm');

  // No write can succeed now. For each new user, one call creates the identity and another, at the
  // same time, finds it (before it is on disk) or creates it: neither may be acknowledged, as the
  // identity never reaches the disk.
  rmSync(dir, { recursive: true, force: true });
  const users = Array.from({ length: 20 }, (_, i) => `new-${i}`);
  const results = await Promise.allSettled(users.flatMap((u) => [token(a, u), token(b, u)]));
  const acknowledged = results.flatMap((r, i) => (r.status === 'fulfilled' ? [users[Math.floor(i / 2)]] : []));
  assert.deepEqual(acknowledged, [], 'acknowledged identities that were never written');
  for (const r of results) {
    if (r.status === 'rejected') assert.equal((r.reason as { name: string }).name, 'InternalErrorException');
  }
});

void test('a failed write returns every region to what is on disk, regions made since included', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cib-fail-regions-'));
  const dir = join(root, 'state');
  mkdirSync(dir);
  const stateFile = join(dir, 'state.json');
  const emu = await startEmulator({ stateFile });
  const inRegion = (region: string): CognitoIdentityClient =>
    new CognitoIdentityClient({ region, endpoint: emu.endpoint, credentials: CREDS, maxAttempts: 1 });
  const eu = inRegion('eu-west-1');
  const ap = inRegion('ap-south-1');
  t.after(async () => {
    eu.destroy();
    ap.destroy();
    await emu.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  const create = (c: CognitoIdentityClient, name: string) =>
    c.send(new CreateIdentityPoolCommand({ IdentityPoolName: name, AllowUnauthenticatedIdentities: false }));
  const names = async (c: CognitoIdentityClient) =>
    (await c.send(new ListIdentityPoolsCommand({ MaxResults: 60 }))).IdentityPools?.map((p) => p.IdentityPoolName);
  const kept = await create(eu, 'kept');

  rmSync(dir, { recursive: true, force: true });
  const refused = await Promise.allSettled([create(eu, 'lost-eu'), create(ap, 'lost-ap')]);
  for (const r of refused) {
    assert.equal(r.status, 'rejected');
    assert.equal((r.reason as { name: string }).name, 'InternalErrorException');
  }
  assert.deepEqual(await names(eu), ['kept']);
  // ap-south-1 is not on disk: a call there makes it again, and is answered either from the new
  // (empty) region or, when the write of that region fails first, with InternalErrorException.
  const apNow = await names(ap).catch((err: unknown) => (err as { name: string }).name);
  assert.ok(Array.isArray(apNow) ? apNow.length === 0 : apNow === 'InternalErrorException', String(apNow));

  mkdirSync(dir);
  // A background write of ap-south-1 that started before the folder came back may still fail and
  // refuse a change made meanwhile; such a change is not made, so trying it again is safe.
  const later = await create(eu, 'after').catch((err: unknown) => {
    if ((err as { name?: string }).name !== 'InternalErrorException') throw err;
    return create(eu, 'after');
  });
  await emu.stop();
  const again = await startEmulator({ stateFile });
  const back = new CognitoIdentityClient({
    region: 'eu-west-1',
    endpoint: again.endpoint,
    credentials: CREDS,
    maxAttempts: 1,
  });
  try {
    const pools = await back.send(new ListIdentityPoolsCommand({ MaxResults: 60 }));
    assert.deepEqual(
      pools.IdentityPools?.map((p) => p.IdentityPoolId).sort(),
      [kept.IdentityPoolId, later.IdentityPoolId].sort(),
    );
  } finally {
    back.destroy();
    await again.stop();
  }
});

void test('a start that fails (a damaged state file) leaves no lock behind', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cib-fail-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const stateFile = join(root, 'state.json');
  writeFileSync(stateFile, '{"version": 1');
  await assert.rejects(startEmulator({ stateFile }), /damaged/);
  assert.equal(existsSync(`${stateFile}.lock`), false);
});

/** Lets a call sent just before reach the emulator first (an ordering nudge, never asserted on). */
const nudge = () => new Promise((resolve) => setTimeout(resolve, 2));

void test('an error answer that read a change not yet on disk waits for it, and is InternalErrorException when it fails', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cib-dirty-error-'));
  const dir = join(root, 'state');
  mkdirSync(dir);
  const emu = await startEmulator({ stateFile: join(dir, 'state.json') });
  const a = new CognitoIdentity({ region: 'us-east-1', endpoint: emu.endpoint, credentials: CREDS, maxAttempts: 1 });
  const b = new CognitoIdentity({ region: 'us-east-1', endpoint: emu.endpoint, credentials: CREDS, maxAttempts: 1 });
  t.after(async () => {
    a.destroy();
    b.destroy();
    await emu.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  const pools: string[] = [];
  for (let i = 0; i < 8; i++) {
    pools.push(
      (await a.createIdentityPool({ IdentityPoolName: `p${i}`, AllowUnauthenticatedIdentities: false }))
        .IdentityPoolId!,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  for (const IdentityPoolId of pools) {
    // The delete is never written: a describe that found it done must not say so.
    const deleted = a.deleteIdentityPool({ IdentityPoolId }).then(
      () => 'ok',
      (e: unknown) => (e as Error).name,
    );
    await nudge();
    const seen = await b.describeIdentityPool({ IdentityPoolId }).then(
      () => 'found',
      (e: unknown) => (e as Error).name,
    );
    assert.equal(await deleted, 'InternalErrorException');
    assert.ok(['found', 'InternalErrorException'].includes(seen), seen);
    assert.equal((await b.describeIdentityPool({ IdentityPoolId })).IdentityPoolId, IdentityPoolId);
  }
});

void test('AssumeRoleWithWebIdentity that read a change not yet on disk waits for it, and is refused when it fails', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cib-dirty-sts-'));
  const dir = join(root, 'state');
  mkdirSync(dir);
  const emu = await startEmulator({ stateFile: join(dir, 'state.json') });
  const c = new CognitoIdentity({ region: 'us-east-1', endpoint: emu.endpoint, credentials: CREDS, maxAttempts: 1 });
  const sts = new STS({ region: 'us-east-1', endpoint: emu.endpoint, credentials: CREDS, maxAttempts: 1 });
  t.after(async () => {
    c.destroy();
    sts.destroy();
    await emu.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
  const guests = (await c.createIdentityPool({ IdentityPoolName: 'q', AllowUnauthenticatedIdentities: true }))
    .IdentityPoolId!;
  await c.setIdentityPoolRoles({ IdentityPoolId: guests, Roles: { unauthenticated: role('Guest') } });
  const { IdentityId } = await c.getId({ IdentityPoolId: guests });
  const token = (await c.getOpenIdToken({ IdentityId: IdentityId! })).Token!;
  const pools: string[] = [];
  for (let i = 0; i < 8; i++) {
    const p = (await c.createIdentityPool({ IdentityPoolName: `p${i}`, AllowUnauthenticatedIdentities: false }))
      .IdentityPoolId!;
    await c.setIdentityPoolRoles({ IdentityPoolId: p, Roles: { authenticated: role(`Auth${i}`) } });
    pools.push(p);
  }
  const assume = (i: number) =>
    sts.assumeRoleWithWebIdentity({ RoleArn: role(`Auth${i}`), RoleSessionName: 'sess', WebIdentityToken: token }).then(
      () => 'ALLOWED',
      (e: unknown) => (e as Error).name,
    );
  assert.equal(await assume(0), 'AccessDenied');
  rmSync(dir, { recursive: true, force: true });
  for (const [i, IdentityPoolId] of pools.entries()) {
    // The change (the role no longer the pool's, so of no pool) is never written: the guest of
    // another pool must not be let in on it.
    const set = c.setIdentityPoolRoles({ IdentityPoolId, Roles: { authenticated: role('Other') } }).then(
      () => 'ok',
      (e: unknown) => (e as Error).name,
    );
    await nudge();
    const during = await assume(i);
    assert.equal(await set, 'InternalErrorException');
    assert.ok(['AccessDenied', 'InternalFailure'].includes(during), during);
    assert.equal(await assume(i), 'AccessDenied');
  }
});
