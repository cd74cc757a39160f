import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { DEV_PROVIDER } from './emulator-fixture.js';

const COGNITO = 'cognito-identity.amazonaws.com';

function clientFor(emu: RunningEmulator, region = emu.region): CognitoIdentity {
  return new CognitoIdentity({
    endpoint: emu.endpoint,
    region,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
}

void describe('emulator: state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cognito-emu-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  void it('closes the state file when a start fails after opening it (no FileHandle is left to garbage collection)', async (t) => {
    if (!existsSync('/proc/self/fd')) {
      t.skip('needs /proc/self/fd');
      return;
    }
    const stateFile = join(dir, 'taken-port.json');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      taken.close();
    });
    const port = (taken.address() as { port: number }).port;
    await assert.rejects(startEmulator({ stateFile, port }), /EADDRINUSE/);
    const open = readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((target) => target.startsWith(stateFile));
    assert.deepEqual(open, [], 'file descriptors of the state file left open');
    assert.equal(existsSync(`${stateFile}.lock`), false);
  });

  void it('keeps pools, identities, users and signing keys across a restart', async () => {
    const stateFile = join(dir, 'state.json');
    const seed = [{ name: 'app', developerProviderName: DEV_PROVIDER, allowUnauthenticatedIdentities: true }];
    const first = await startEmulator({ stateFile, seed });
    const c1 = clientFor(first);
    const poolId = first.pools[0]!.identityPoolId;
    const t = await c1.getOpenIdTokenForDeveloperIdentity({
      IdentityPoolId: poolId,
      Logins: { [DEV_PROVIDER]: 'alice' },
      TokenDuration: 3600,
    });
    const guest = await c1.getId({ IdentityPoolId: poolId });
    const arn = `arn:aws:cognito-identity:us-east-1:123456789012:identitypool/${poolId}`;
    await c1.tagResource({ ResourceArn: arn, Tags: { env: 'dev' } });
    c1.destroy();
    await first.stop();
    const saved = readFileSync(stateFile, 'utf8');
    assert.ok(saved.includes(t.IdentityId!));

    const second = await startEmulator({ stateFile, seed });
    const c2 = clientFor(second);
    try {
      assert.equal(second.pools[0]!.identityPoolId, poolId, 'seeding is idempotent by name');
      assert.equal((await c2.listIdentityPools({ MaxResults: 60 })).IdentityPools?.length, 1);
      const again = await c2.getOpenIdTokenForDeveloperIdentity({
        IdentityPoolId: poolId,
        Logins: { [DEV_PROVIDER]: 'alice' },
      });
      assert.equal(again.IdentityId, t.IdentityId);
      // A token signed before the restart still verifies.
      const creds = await c2.getCredentialsForIdentity({ IdentityId: t.IdentityId!, Logins: { [COGNITO]: t.Token! } });
      assert.match(creds.Credentials!.AccessKeyId!, /^ASIA/);
      const desc = await c2.describeIdentity({ IdentityId: guest.IdentityId! });
      assert.equal(desc.IdentityId, guest.IdentityId);
      assert.deepEqual((await c2.listTagsForResource({ ResourceArn: arn })).Tags, { env: 'dev' });
      assert.deepEqual(second.pools[0]!.roles, first.pools[0]!.roles);
    } finally {
      c2.destroy();
      await second.stop();
    }
  });

  void it('refuses a damaged state file and leaves it untouched', async () => {
    const stateFile = join(dir, 'damaged.json');
    writeFileSync(stateFile, '{"version": 1, "region": "us-east-1", "serv');
    await assert.rejects(startEmulator({ stateFile }), /damaged/);
    assert.equal(readFileSync(stateFile, 'utf8'), '{"version": 1, "region": "us-east-1", "serv');
    const incomplete = join(dir, 'incomplete.json');
    writeFileSync(incomplete, '{"version": 1}');
    await assert.rejects(startEmulator({ stateFile: incomplete }), /damaged/);
    assert.equal(readFileSync(incomplete, 'utf8'), '{"version": 1}');
  });

  void it('refuses a damaged log beside the state file, naming it, and leaves both untouched', async () => {
    const stateFile = join(dir, 'logged.json');
    await (await startEmulator({ stateFile })).stop();
    const { generation } = JSON.parse(readFileSync(stateFile, 'utf8')) as { generation: number };
    const line = (json: string): string => `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
    const header = line(JSON.stringify({ version: 2, generation }));
    const change = (n: number): string => line(JSON.stringify({ n, change: { regions: {} } }));
    const snapshot = readFileSync(stateFile, 'utf8');
    for (const [log, problem] of [
      [header + change(1).replace('regions', 'REGIONS') + change(2), /record 1 fails its checksum/],
      [line(JSON.stringify({ version: 2, generation: generation + 1 })), /continues a later state file/],
    ] as const) {
      writeFileSync(`${stateFile}.log`, log);
      await assert.rejects(startEmulator({ stateFile }), (err: Error) => {
        assert.ok(err.message.includes(`${stateFile}.log`), err.message);
        assert.match(err.message, problem);
        assert.match(err.message, /left untouched/);
        return true;
      });
      assert.equal(readFileSync(`${stateFile}.log`, 'utf8'), log);
      assert.equal(readFileSync(stateFile, 'utf8'), snapshot);
      assert.equal(existsSync(`${stateFile}.lock`), false, 'no lock left behind');
    }
    // A last record cut short is a crash during its append: the emulator starts.
    writeFileSync(`${stateFile}.log`, header + change(1) + change(2).slice(0, 20));
    await (await startEmulator({ stateFile })).stop();
  });

  void it('keeps every region in one file; the region option only sets the default', async () => {
    const stateFile = join(dir, 'region.json');
    const emu = await startEmulator({ stateFile, region: 'eu-west-1' });
    const eu = clientFor(emu);
    const us = clientFor(emu, 'us-east-1');
    let euPool: string;
    let usPool: string;
    try {
      euPool = (await eu.createIdentityPool({ IdentityPoolName: 'eu', AllowUnauthenticatedIdentities: true }))
        .IdentityPoolId!;
      usPool = (await us.createIdentityPool({ IdentityPoolName: 'us', AllowUnauthenticatedIdentities: true }))
        .IdentityPoolId!;
    } finally {
      eu.destroy();
      us.destroy();
    }
    await emu.stop();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { region: string; regions: Record<string, unknown> };
    assert.equal(saved.region, 'eu-west-1');
    assert.deepEqual(Object.keys(saved.regions).sort(), ['eu-west-1', 'us-east-1']);

    const back = await startEmulator({ stateFile, region: 'us-east-1' });
    const c = clientFor(back);
    try {
      assert.equal(back.region, 'us-east-1');
      assert.deepEqual((await c.listIdentityPools({ MaxResults: 10 })).IdentityPools, [
        { IdentityPoolId: usPool, IdentityPoolName: 'us' },
      ]);
      // An unsigned call follows the id it names to its region.
      assert.match((await c.getId({ IdentityPoolId: euPool })).IdentityId!, /^eu-west-1:/);
    } finally {
      c.destroy();
      await back.stop();
    }
  });

  void it('reads a single-region state file written before regions', async () => {
    const stateFile = join(dir, 'single.json');
    const seed = [{ name: 'old', developerProviderName: DEV_PROVIDER }];
    const emu = await startEmulator({ stateFile, region: 'eu-west-1', seed });
    const poolId = emu.pools[0]!.identityPoolId;
    await emu.stop();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      regions: Record<string, { signer: unknown; service: unknown }>;
      credentials: unknown;
    };
    assert.notEqual(saved.credentials, undefined, 'the one key of minted credentials is saved');
    const only = saved.regions['eu-west-1']!;
    // Before STS: no credentials key (a fresh one is made).
    writeFileSync(
      stateFile,
      JSON.stringify({ version: 1, region: 'eu-west-1', signer: only.signer, service: only.service }),
    );
    const back = await startEmulator({ stateFile, seed });
    try {
      assert.equal(back.region, 'eu-west-1');
      assert.equal(back.pools[0]!.identityPoolId, poolId);
    } finally {
      await back.stop();
    }
    // With STS, before regions: the credentials key is kept.
    writeFileSync(
      stateFile,
      JSON.stringify({
        version: 1,
        region: 'eu-west-1',
        signer: only.signer,
        service: only.service,
        credentials: saved.credentials,
      }),
    );
    const sts = await startEmulator({ stateFile, seed });
    try {
      assert.equal(sts.pools[0]!.identityPoolId, poolId);
    } finally {
      await sts.stop();
    }
    const resaved = JSON.parse(readFileSync(stateFile, 'utf8')) as { regions: object; credentials: unknown };
    assert.deepEqual(resaved.credentials, saved.credentials);
    assert.deepEqual(Object.keys(resaved.regions), ['eu-west-1']);
  });

  void it('writes changes without waiting for stop(): in the log, folded into the file at stop()', async () => {
    const stateFile = join(dir, 'live.json');
    const emu = await startEmulator({ stateFile });
    const c = clientFor(emu);
    let poolId: string;
    try {
      poolId = (await c.createIdentityPool({ IdentityPoolName: 'live', AllowUnauthenticatedIdentities: false }))
        .IdentityPoolId!;
      // Answered: the change is on disk already, appended to the log beside the snapshot.
      assert.ok(readFileSync(`${stateFile}.log`, 'utf8').includes(poolId));
      assert.ok(!readFileSync(stateFile, 'utf8').includes(poolId));
    } finally {
      c.destroy();
      await emu.stop();
    }
    assert.ok(readFileSync(stateFile, 'utf8').includes(poolId));
    assert.equal(existsSync(`${stateFile}.log`), false);
  });
});
