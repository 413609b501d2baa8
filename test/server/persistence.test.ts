/** Durability across restarts, tombstone purge (410), epochs (409), keys, the data-dir lock. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../../src/server';
import { createStoredKey, revokeStoredKey } from '../../src/server/auth';
import { parseConflictRecord, PushRequest } from '../../src/sync/protocol';
import { Api, conflictsOf, expectProblem, KEY, KEY2, Replica, sleep, TestServer, tmpDir } from './helpers';
import { itEmbedded } from '../postgres/cluster';

const DAY = 86_400_000;

describe('server: persistence', () => {
  let t: TestServer;
  beforeEach(() => {
    t = new TestServer();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  /** Stops the server, copies its data folder (a backup), starts it again. */
  async function backupData(): Promise<string> {
    await t.stop();
    const backup = await t.copyData();
    await t.start();
    return backup;
  }

  /** Stops the server and puts the backup in place of its data (folder or database), then starts it. */
  async function restoreData(backup: string): Promise<void> {
    await t.stop();
    await t.restoreData(backup);
    await t.start();
  }

  it('a restart on the same data dir keeps docs, conflicts, lastSeq, head, epoch and key bindings', async () => {
    await t.start();
    let api = t.api();
    const a = new Replica('rA');
    const b = new Replica('rB');
    const first = a.body([a.put('notes', 'n1', { title: 'one' }), a.put('notes', 'n2', { title: 'two' }), a.del('notes', 'n2', 2)]);
    await api.push('ds', first);
    await api.push('ds', b.body([b.patch('notes', 'n1', { title: 'B' }, 0)]));
    const before = await api.changes('ds');
    assert.equal(before.changes.filter((c) => c.coll === '_conflicts').length, 1);

    await t.restart();
    api = t.api();
    const after = await api.changes('ds');
    assert.equal(after.epoch, before.epoch);
    assert.equal(after.head, before.head);
    assert.deepEqual(after.changes, before.changes);
    // lastSeq survived: the old batch is a duplicate
    const again = await api.push('ds', first);
    assert.deepEqual(again.results.map((r) => r.status), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(again.ackSeq, 3);
    // the binding survived
    await t.api(KEY2).pushProblem('ds', a.body([a.put('notes', 'x', {})]), 403, 'replica_not_owned');
    // versions continue after the head
    const next = await api.push('ds', a.body([a.put('notes', 'n3', {})]));
    assert.equal(next.results[0].v, before.head + 1);
    // and the cursor from before the restart still works
    const page = await api.changes('ds', { since: before.checkpoint });
    assert.deepEqual(page.changes.map((c) => c.id), ['n3']);
  });

  it('rebuilds the change index in version order from the engine after a restart', async () => {
    await t.start();
    const api = t.api();
    const a = new Replica('rA');
    for (let round = 0; round < 5; round++) {
      const ops = [];
      for (let i = 0; i < 40; i++) ops.push(a.put('c', `d${i}`, { round, i }));
      await api.push('ds', a.body(ops));
    }
    const before = await api.pullAll('ds', '0', { limit: 7 });
    await t.restart();
    const after = await t.api().pullAll('ds', '0', { limit: 7 });
    assert.deepEqual([...after.docs.entries()], [...before.docs.entries()]);
    assert.equal(after.checkpoint, before.checkpoint);
    assert.equal(after.docs.size, 40);
    for (const d of after.docs.values()) assert.equal(d?.round, 4);
  });

  it('purges tombstones after the retention, raises the horizon, and answers 410 for older cursors', async () => {
    let offset = 0;
    await t.start({ now: () => Date.now() + offset, limits: { tombstoneRetentionDays: 1 } });
    const api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('c', 'gone', { x: 1 }), a.put('c', 'kept', { y: 1 })]));
    const cp1 = (await api.changes('ds')).checkpoint; // e:2
    await api.push('ds', a.body([a.del('c', 'gone', 1)])); // v3
    const epoch = cp1.split(':')[0];
    assert.equal(await t.server!.purgeTombstones(), 0, 'not yet expired');
    offset = 2 * DAY;
    assert.equal(await t.server!.purgeTombstones(), 1);

    const p = expectProblem(await api.changesRaw('ds', { since: cp1 }), 410, 'checkpoint_expired');
    assert.equal(p.horizon, 3);
    assert.equal(p.epoch, epoch);
    assert.equal(p.retryable, false);
    expectProblem(await api.changesRaw('ds', { since: `${epoch}:0` }), 410, 'checkpoint_expired');
    const fresh = await api.changes('ds', { since: '0' });
    assert.equal(fresh.horizon, 3);
    assert.deepEqual(fresh.changes.map((c) => c.id), ['kept']);
    assert.equal((await api.changes('ds', { since: `${epoch}:3` })).changes.length, 0);

    // an update of the purged document based on a version below the horizon: delete wins
    const b = new Replica('rB');
    const r = await api.push('ds', b.body([b.patch('c', 'gone', { x: 2 }, 1)]));
    assert.equal(r.results[0].status, 'conflict');
    const [c] = (await conflictsOf(api, 'ds')).map((x) => parseConflictRecord(x));
    assert.equal(c.kind, 'update_of_purged');
    assert.equal(c.fields.x.loser.value, 2);
    assert.equal((await api.pullAll('ds')).docs.has('c/gone'), false);
    // a brand-new document with that id (base 0) is fine
    assert.equal((await api.push('ds', b.body([b.put('c', 'gone', { fresh: true })]))).results[0].status, 'applied');

    // the horizon is durable
    await t.restart({ now: () => Date.now() + offset, limits: { tombstoneRetentionDays: 1 } });
    expectProblem(await t.api().changesRaw('ds', { since: cp1 }), 410, 'checkpoint_expired');
  });

  it('the purge also runs on its timer', async () => {
    await t.start({ purgeIntervalMs: 50, limits: { tombstoneRetentionDays: 0.000001 } }); // ~86 ms
    const api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('c', 'x', {}), a.del('c', 'x', 1)]));
    const deadline = Date.now() + 5000;
    while ((await api.changes('ds')).horizon === 0 && Date.now() < deadline) await sleep(50);
    const page = await api.changes('ds');
    assert.equal(page.horizon, 2);
    assert.deepEqual(page.changes, []);
  });

  it('409 epoch_mismatch for a push or pull with another epoch, changing nothing', async () => {
    await t.start();
    const api = t.api();
    const a = new Replica('rA');
    const res = await api.push('ds', a.body([a.put('c', 'x', {})]));
    const p = await api.pushProblem('ds', a.body([a.put('c', 'y', {})], 'e_somewhereelse'), 409, 'epoch_mismatch');
    assert.equal(p.epoch, res.epoch);
    expectProblem(await api.changesRaw('ds', { since: 'e_somewhereelse:1' }), 409, 'epoch_mismatch');
    const page = await api.changes('ds');
    assert.equal(page.head, 1);
    assert.equal(page.epoch, res.epoch);
    // the matching epoch is accepted; the rejected op's seq was not consumed
    const ok = await api.push('ds', a.body([a.put('c', 'z', {})], res.epoch));
    assert.equal(ok.results[0].status, 'applied');
    assert.deepEqual(ok.warnings, ['seq_gap']);
  });

  it('a server restored from an older backup notices a cursor ahead of it and starts a new epoch', async () => {
    await t.start();
    let api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('c', 'x', {}), a.put('c', 'y', {})]));
    const backup = await backupData();
    api = t.api();
    await api.push('ds', a.body([a.put('c', 'z', {}), a.put('c', 'w', {})]));
    const client = await api.pullAll('ds'); // the client is at v4
    const oldEpoch = client.checkpoint.split(':')[0];
    await restoreData(backup);
    api = t.api();
    const p = expectProblem(await api.changesRaw('ds', { since: client.checkpoint, proof: client.proof! }), 409, 'epoch_mismatch');
    assert.notEqual(p.epoch, oldEpoch);
    const page = await api.changes('ds');
    assert.equal(page.epoch, p.epoch);
    assert.equal(page.head, 2);
    await api.pushProblem('ds', a.body([a.put('c', 'q', {})], oldEpoch), 409, 'epoch_mismatch');
  });

  it('a push whose checkpoint is ahead of the restored head starts a new epoch once, changes nothing, and tells where the epoch began', async () => {
    await t.start();
    let api = t.api();
    const a = new Replica('rA');
    const b = new Replica('rB');
    await api.push('ds', a.body([a.put('c', 'x', {}), a.put('c', 'y', {})]));
    assert.equal((await api.changes('ds')).epochStart, 0, 'a new dataset\'s epoch begins at 0');
    const backup = await backupData();
    api = t.api();
    await api.push('ds', a.body([a.put('c', 'z', {}), a.put('c', 'w', {}), a.put('c', 'v', {})]));
    const client = await api.pullAll('ds'); // at v5
    const oldEpoch = client.checkpoint.split(':')[0];
    assert.equal(client.checkpoint, `${oldEpoch}:5`);
    await restoreData(backup);
    api = t.api();
    // A push with only the epoch cannot tell (the copied folder keeps its epoch) ...
    const behind = await api.push('ds', b.body([b.put('c', 'b1', {})], oldEpoch));
    assert.equal(behind.epoch, oldEpoch);
    // ... one with a checkpoint at or behind the head is accepted ...
    const atHead = await api.push('ds', { ...b.body([b.put('c', 'b2', {})], oldEpoch), checkpoint: `${oldEpoch}:3` } as PushRequest);
    assert.equal(atHead.results[0].status, 'applied');
    // ... one ahead of it (v5 > head 4), with the proof that the server issued it, is refused: a
    // new epoch, nothing applied.
    const p = await api.pushProblem('ds', { ...a.body([a.put('c', 'q', {})], oldEpoch), checkpoint: `${oldEpoch}:5`, checkpointProof: client.proof }, 409, 'epoch_mismatch');
    assert.notEqual(p.epoch, oldEpoch);
    assert.equal(p.epochStart, 4);
    const page = await api.changes('ds');
    assert.deepEqual([page.epoch, page.head, page.epochStart], [p.epoch, 4, 4]);
    // Every other checkpoint of the old epoch is just of another epoch: no second rotation.
    const again = await api.pushProblem('ds', { ...b.body([b.put('c', 'b3', {})], oldEpoch), checkpoint: `${oldEpoch}:9` }, 409, 'epoch_mismatch');
    assert.equal(again.epoch, p.epoch);
    expectProblem(await api.changesRaw('ds', { since: `${oldEpoch}:9` }), 409, 'epoch_mismatch');
    assert.equal((await api.changes('ds')).epoch, p.epoch);
    // A restart keeps the new epoch and where it began.
    await t.stop();
    await t.start();
    api = t.api();
    const later = await api.push('ds', { ...a.body([a.put('c', 'q', {})], String(p.epoch)), checkpoint: `${String(p.epoch)}:4` } as PushRequest);
    assert.equal(later.results[0].status, 'applied');
    const after = await api.changes('ds');
    assert.deepEqual([after.epoch, after.head, after.epochStart], [p.epoch, 5, 4]);
  });

  itEmbedded('one server per data dir', async () => {
    await t.start();
    await assert.rejects(startServer({ dataDir: t.dir, port: 0, apiKeys: [KEY], accessLog: false }), (e: unknown) => (e as { code?: string }).code === 'data_dir_locked');
  });
});

describe('server: key sources', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await tmpDir();
  });
  afterEach(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('keys from --api-key specs, a keys file and the environment, each with its scope', async () => {
    const file = path.join(dir, 'keys.txt');
    const hashed = createHash('sha256').update('file-key-hashed-1').digest('hex');
    await fs.promises.writeFile(file, `# comment\nfile-key-all-0001\nfile-key-one-0001 alpha\nfile-key-two-0001 alpha,beta\nsha256:${hashed} beta\n`);
    const s = await startServer({
      dataDir: path.join(dir, 'data'), port: 0, accessLog: false, keysReloadIntervalMs: 0,
      apiKeys: ['cli-key-scoped-1:alpha'], apiKeysFile: file, apiKeysEnv: 'env-key-all-00001, env-key-beta-0001:beta',
    });
    try {
      const can = async (key: string, ds: string): Promise<number> => (await new Api(s.url, key).changesRaw(ds)).status;
      assert.equal(await can('cli-key-scoped-1', 'alpha'), 200);
      assert.equal(await can('cli-key-scoped-1', 'beta'), 403);
      assert.equal(await can('file-key-all-0001', 'gamma'), 200);
      assert.equal(await can('file-key-one-0001', 'alpha'), 200);
      assert.equal(await can('file-key-one-0001', 'beta'), 403);
      assert.equal(await can('file-key-two-0001', 'beta'), 200);
      assert.equal(await can('file-key-hashed-1', 'beta'), 200);
      assert.equal(await can('file-key-hashed-1', 'alpha'), 403);
      assert.equal(await can('env-key-all-00001', 'gamma'), 200);
      assert.equal(await can('env-key-beta-0001', 'beta'), 200);
      assert.equal(await can('env-key-beta-0001', 'alpha'), 403);
      assert.equal(await can('not-a-key-000001', 'alpha'), 401);
    } finally {
      await s.close();
    }
  });

  it('stored keys (keys create) are loaded at start and picked up / revoked while running', async () => {
    const data = path.join(dir, 'data');
    const first = await createStoredKey(data, ['alpha']);
    const s = await startServer({ dataDir: data, port: 0, accessLog: false, errorLog: () => undefined, keysReloadIntervalMs: 50 });
    try {
      assert.equal((await new Api(s.url, first.key).changesRaw('alpha')).status, 200);
      assert.equal((await new Api(s.url, first.key).changesRaw('beta')).status, 403);
      const second = await createStoredKey(data, ['*']);
      const until = async (key: string, want: number): Promise<void> => {
        const deadline = Date.now() + 5000;
        let got = 0;
        while (Date.now() < deadline && (got = (await new Api(s.url, key).changesRaw('beta')).status) !== want) await sleep(50);
        assert.equal(got, want);
      };
      await until(second.key, 200);
      assert.ok(await revokeStoredKey(data, second.id));
      await until(second.key, 401);
      const text = await fs.promises.readFile(path.join(data, 'keys.json'), 'utf8');
      assert.ok(!text.includes(first.key) && !text.includes(second.key));
    } finally {
      await s.close();
    }
  });

  it('refuses malformed key configuration without echoing the key', async () => {
    await assert.rejects(startServer({ dataDir: dir, port: 0, accessLog: false, apiKeys: ['has space'] }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'invalid_keys');
      assert.ok(!(e as Error).message.includes('has space'));
      return true;
    });
    await assert.rejects(startServer({ dataDir: dir, port: 0, accessLog: false, apiKeys: ['a-valid-key-123:bad/name'] }), (e: unknown) => {
      assert.ok(!(e as Error).message.includes('a-valid-key-123'));
      return true;
    });
  });
});
