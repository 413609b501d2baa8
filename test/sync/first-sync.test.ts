/**
 * A first sync of many documents: pages stream in (the next page is asked for while this one is
 * applied), and pulled documents are kept as their JSON text until read, as a reopened database
 * keeps them. Real server on 127.0.0.1, real engines; the HTTP client is the real one, wrapped to
 * record when each request starts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { HttpSyncApiClient } from '../../src/sync/api-client';
import { KEY, TestServer, tmpDir } from '../server/helpers';

const DS = 'first';

describe('sync: a first sync of many documents', function () {
  this.timeout(60_000);
  const server = new TestServer();
  let dir: string;
  const open: WiseJSON[] = [];
  const clients: HttpSyncApiClient[] = [];
  beforeEach(async () => {
    await server.start();
    dir = await tmpDir('wisejson-sync-first-');
    const seed = new WiseJSON(path.join(dir, 'seed'));
    const notes = await seed.collection('notes');
    await notes.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: `n${String(i).padStart(3, '0')}`, i, text: 'x'.repeat(200) })));
    await seed.enableSync({ url: server.url, apiKey: KEY, dataset: DS, live: false, syncIntervalMs: 3_600_000 });
    await seed.triggerSync();
    await seed.close();
  });
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close().catch(() => undefined);
    for (const c of clients.splice(0)) await c.close();
    await server.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('asks for the next page while it applies the one it has; every page still lands with its cursor', async () => {
    const real = new HttpSyncApiClient(server.url, KEY);
    clients.push(real);
    const log: string[] = [];
    const client = {
      get: (p: string) => {
        if (p.includes('colls=notes')) log.push(`get since=${new URLSearchParams(p.split('?')[1]).get('since')}`);
        return real.get(p);
      },
      post: (p: string, body: unknown) => real.post(p, body),
    };
    const db = new WiseJSON(path.join(dir, 'fresh'));
    open.push(db);
    const notes = await db.collection('notes');
    db.on('sync:pull_success', (e: { collection: string; checkpoint: string }) => { if (e.collection === 'notes') log.push(`applied ${e.checkpoint.split(':')[1]}`); });
    await notes.enableSync({ url: server.url, apiKey: KEY, dataset: DS, live: false, syncIntervalMs: 3_600_000, apiClient: client, pullLimit: 100 });
    await notes.triggerSync();
    assert.equal(await notes.count(), 250);
    const ep = (await db._sync.collections.get('notes'))!.cursor!.split(':')[0];
    assert.deepEqual(log.map((l) => l.replace(`${ep}:`, '')), [
      'get since=0', 'get since=100', 'applied 100', 'get since=200', 'applied 200', 'applied 250',
    ]);
  });


  it('keeps pulled documents as their JSON text until they are read; a collection with indexes holds them parsed', async () => {
    const db = new WiseJSON(path.join(dir, 'fresh'));
    open.push(db);
    const notes = await db.collection('notes');
    await notes.enableSync({ url: server.url, apiKey: KEY, dataset: DS, live: false, syncIntervalMs: 3_600_000 });
    await notes.triggerSync();
    const stored = db._state.collections.get('notes')!.docs;
    assert.notEqual(typeof stored.get('n007'), 'object', 'kept as text (in the text arena) until read');
    const doc = await notes.getById('n007');
    assert.equal(doc!.i, 7);
    assert.ok(Object.isFrozen(doc));
    assert.equal(typeof stored.get('n007'), 'object', 'parsed once read');
    assert.equal(await notes.count({ i: { $gte: 100 } }), 150);
    await db.close();
    const again = new WiseJSON(path.join(dir, 'fresh'));
    open.push(again);
    assert.equal((await (await again.collection('notes')).getById('n249'))!.text, 'x'.repeat(200));

    const indexed = new WiseJSON(path.join(dir, 'indexed'));
    open.push(indexed);
    const inotes = await indexed.collection('notes');
    await inotes.createIndex('i', { unique: true });
    await inotes.enableSync({ url: server.url, apiKey: KEY, dataset: DS, live: false, syncIntervalMs: 3_600_000 });
    await inotes.triggerSync();
    assert.equal(typeof indexed._state.collections.get('notes')!.docs.get('n007'), 'object');
    assert.deepEqual((await inotes.find({ i: 7 })).map((d) => d._id), ['n007']);
  });
});
