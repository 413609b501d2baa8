import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Collection, WiseJSON } from '../../src/engine';
import { KEY, TestServer, tmpDir } from '../server/helpers';

interface Replica {
  db: WiseJSON;
  col: Collection;
  events: { name: string; payload: unknown }[];
}

async function replica(dir: string, url: string, key = KEY): Promise<Replica> {
  const db = new WiseJSON(dir);
  await db.init();
  const col = await db.collection('notes');
  const events: Replica['events'] = [];
  for (const name of ['sync:start', 'sync:success', 'sync:error', 'sync:conflict', 'sync:paused', 'sync:resumed', 'sync:rejected']) {
    col.on(name, (payload) => events.push({ name, payload }));
  }
  col.enableSync({ url, apiKey: key, dataset: 'team', live: false }); // each test says when to sync
  return { db, col, events };
}

function userFields(doc: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!doc) return null;
  const { createdAt: _c, updatedAt: _u, _v, ...rest } = doc;
  return rest;
}

describe('sync scenarios (real server, real engines)', function () {
  this.timeout(60_000);
  const server = new TestServer();
  let dir: string;
  let open: Replica[] = [];
  beforeEach(async () => {
    await server.start();
    dir = await tmpDir('wisejson-sync-scn-');
    open = [];
  });
  afterEach(async () => {
    for (const r of open) await r.db.close();
    await server.stop();
    fs.rmSync(server.dir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    server.dir = '';
  });
  const make = async (name: string, key = KEY): Promise<Replica> => {
    const r = await replica(path.join(dir, name), server.url, key);
    open.push(r);
    return r;
  };

  it('two replicas edit different fields of one document: both edits kept, no conflict', async () => {
    const a = await make('a');
    const b = await make('b');
    await a.col.insert({ _id: 'n1', title: 'draft', body: 'x' });
    await a.col.triggerSync();
    await b.col.triggerSync();
    await a.col.update('n1', { title: 'final' });
    await b.col.update('n1', { body: 'y' });
    await a.col.triggerSync();
    await b.col.triggerSync();
    await a.col.triggerSync();
    for (const r of [a, b]) assert.deepEqual(userFields(await r.col.getById('n1')), { _id: 'n1', title: 'final', body: 'y' });
    assert.equal(a.events.filter((e) => e.name === 'sync:conflict').length + b.events.filter((e) => e.name === 'sync:conflict').length, 0);
  });

  it('the same field on two replicas: one winner everywhere and a conflict record on every replica', async () => {
    const a = await make('a');
    const b = await make('b');
    await a.col.insert({ _id: 'n1', title: 'draft' });
    await a.col.triggerSync();
    await b.col.triggerSync();
    await a.col.update('n1', { title: 'from a' });
    await b.col.update('n1', { title: 'from b' });
    await a.col.triggerSync();
    await b.col.triggerSync();
    await a.col.triggerSync();
    const ta = (await a.col.getById('n1'))?.title;
    const tb = (await b.col.getById('n1'))?.title;
    assert.equal(ta, tb, 'replicas disagree on the winner');
    for (const r of [a, b]) {
      const conflicts = await (await r.db.collection('_conflicts')).getAll();
      assert.equal(conflicts.length, 1, 'a conflict record on every replica');
      const values = JSON.stringify(conflicts[0]);
      assert.ok(values.includes('from a') && values.includes('from b'), 'the losing value is kept');
    }
  });

  it('writes made offline, across local checkpoints and a restart, all reach the server', async () => {
    const offline = new WiseJSON(path.join(dir, 'off'), { maxWalEntriesBeforeCheckpoint: 5 });
    await offline.init();
    const col = await offline.collection('notes');
    const errors: unknown[] = [];
    col.on('sync:error', (e) => errors.push(e));
    col.enableSync({ url: 'http://127.0.0.1:9', apiKey: KEY, dataset: 'team', live: false }); // nothing listens there
    for (let i = 0; i < 40; i++) await col.insert({ _id: `o${i}`, i });
    await col.triggerSync();
    assert.ok(errors.length > 0, 'the unreachable server was reported as sync:error');
    await offline.close();
    const again = await make('off');
    assert.equal(again.col.getSyncStatus().pending, 40);
    await again.col.triggerSync();
    assert.equal(again.col.getSyncStatus().pending, 0);
    const other = await make('other');
    await other.col.triggerSync();
    assert.equal(await other.col.count(), 40);
  });

  it('401 pauses sync until the key changes, then it resumes', async () => {
    const r = await make('r', 'wrong-key-000');
    await r.col.insert({ _id: 'x' });
    await r.col.triggerSync();
    assert.ok(r.events.some((e) => e.name === 'sync:paused'));
    assert.equal(r.col.getSyncStatus().state, 'paused');
    const err = r.events.find((e) => e.name === 'sync:error')!.payload as { code: string; message: string };
    assert.equal(err.code, 'unauthorized');
    assert.ok(!err.message.includes('wrong-key-000'), 'the key never appears in an error');
    r.col.enableSync({ url: server.url, apiKey: KEY, dataset: 'team', live: false });
    assert.ok(r.events.some((e) => e.name === 'sync:resumed'));
    await r.col.triggerSync();
    assert.equal(r.col.getSyncStatus().pending, 0);
  });

  it('triggerSync during a running cycle resolves after a cycle that includes the newest write', async () => {
    const r = await make('r');
    await r.col.insert({ _id: 'first' });
    const running = r.col.triggerSync();
    await r.col.insert({ _id: 'second' });
    await Promise.all([running, r.col.triggerSync()]);
    assert.equal(r.col.getSyncStatus().pending, 0);
    const other = await make('other');
    await other.col.triggerSync();
    assert.ok(await other.col.getById('second'));
  });

  it('delete on one replica reaches the other; the deleted document does not come back', async () => {
    const a = await make('a');
    const b = await make('b');
    await a.col.insert({ _id: 'd', v: 1 });
    await a.col.triggerSync();
    await b.col.triggerSync();
    await b.col.remove('d');
    await b.col.triggerSync();
    await a.col.triggerSync();
    assert.equal(await a.col.getById('d'), null);
    await b.col.triggerSync();
    assert.equal(await b.col.getById('d'), null);
  });

  it('db.enableSync syncs every collection, also ones created afterwards', async () => {
    const db = new WiseJSON(path.join(dir, 'all'));
    await db.init();
    await (await db.collection('before')).insert({ _id: 'b1' });
    await db.enableSync({ url: server.url, apiKey: KEY, dataset: 'team' });
    await (await db.collection('after')).insert({ _id: 'a1' });
    await db.triggerSync();
    assert.equal((await db.collection('before')).getSyncStatus().pending, 0);
    assert.equal((await db.collection('after')).getSyncStatus().pending, 0);
    await db.close();
    const other = new WiseJSON(path.join(dir, 'other'));
    await other.init();
    await other.enableSync({ url: server.url, apiKey: KEY, dataset: 'team' });
    const before = await other.collection('before');
    const after = await other.collection('after');
    await other.triggerSync();
    assert.ok(await before.getById('b1'));
    assert.ok(await after.getById('a1'));
    await other.close();
  });

  it('large pull pages travel gzip-compressed and arrive intact', async () => {
    const a = await make('a');
    const text = 'lorem ipsum dolor sit amet '.repeat(40);
    await a.col.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `g${i}`, i, text })));
    await a.col.triggerSync();
    const b = await make('b');
    await b.col.triggerSync();
    assert.equal(await b.col.count(), 300);
    assert.equal((await b.col.getById('g299'))?.text, text);
    const pulls = server.logs.filter((e) => e.method === 'GET' && e.path.includes('/changes') && e.path.includes('colls=notes') && e.status === 200);
    const biggest = Math.max(...pulls.map((e) => e.bytesOut));
    assert.ok(biggest < 300 * text.length / 3, `the largest page was ${biggest} bytes on the wire: not compressed`);
  });
});
