/**
 * Push on write (`enableSync({ live: true })`): a local write starts a sync cycle at once, writes
 * made while one runs go in the next (batching without a timer), and a backoff is honoured. A
 * real server over HTTP on 127.0.0.1; no triggerSync() anywhere here.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { KEY, TestServer, tmpDir } from '../server/helpers';
import { rmDir } from './harness';

async function serverIds(url: string, coll: string): Promise<string[]> {
  const res = await fetch(`${url}/v1/datasets/live/changes?since=0&limit=1000&colls=${coll}`, { headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1' } });
  if (res.status === 404) return [];
  const page = (await res.json()) as { changes: { id: string; deleted?: boolean }[] };
  return page.changes.filter((c) => !c.deleted).map((c) => c.id).sort();
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('sync: push on write (live)', function () {
  this.timeout(60_000);
  let dir = '';
  let server: TestServer;
  let db: WiseJSON;
  const events: string[] = [];
  beforeEach(async () => {
    dir = await tmpDir('wisejson-live-');
    server = new TestServer();
    await server.start();
    events.length = 0;
  });
  afterEach(async () => {
    await db?.close();
    await server.cleanup();
    await rmDir(dir);
  });

  const open = async (live: boolean): Promise<WiseJSON> => {
    db = new WiseJSON(path.join(dir, 'db'));
    await db.init();
    await db.collection('notes');
    for (const e of ['sync:start', 'sync:push_success', 'sync:error']) db.on(e, () => events.push(e));
    await db.enableSync({ url: server.url, apiKey: KEY, dataset: 'live', live });
    return db;
  };

  it('a write reaches the server without triggerSync', async () => {
    const notes = await (await open(true)).collection('notes');
    await notes.insert({ _id: 'n1', text: 'pushed on write' });
    await until('n1 on the server', async () => (await serverIds(server.url, 'notes')).includes('n1'));
    await notes.update('n1', { text: 'changed' });
    await until('the change on the server', async () => {
      const res = await fetch(`${server.url}/v1/datasets/live/changes?since=0&colls=notes`, { headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1' } });
      return ((await res.json()) as { changes: { doc?: { text?: string } }[] }).changes.some((c) => c.doc?.text === 'changed');
    });
    await until('nothing pending', async () => db.getSyncStatus()?.pending === 0);
  });

  it('writes made while a cycle runs go in the next one: 200 concurrent inserts, a few pushes', async () => {
    const notes = await (await open(true)).collection('notes');
    await Promise.all(Array.from({ length: 200 }, (_, i) => notes.insert({ _id: `c${String(i).padStart(3, '0')}` })));
    await until('all 200 on the server', async () => (await serverIds(server.url, 'notes')).length === 200);
    await until('nothing pending', async () => db.getSyncStatus()?.pending === 0);
    const pushes = events.filter((e) => e === 'sync:push_success').length;
    assert.ok(pushes >= 1 && pushes <= 20, `${pushes} pushes for 200 writes`);
  });

  it('without live, a write waits for triggerSync or the interval', async () => {
    const notes = await (await open(false)).collection('notes');
    await notes.insert({ _id: 'quiet' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(events, []);
    assert.deepEqual(await serverIds(server.url, 'notes'), []);
    await db.triggerSync();
    assert.deepEqual(await serverIds(server.url, 'notes'), ['quiet']);
  });

  it('offline: writes wait for the backoff instead of starting a cycle each', async () => {
    const notes = await (await open(true)).collection('notes');
    await server.stop();
    await notes.insert({ _id: 'o1' });
    await until('the failure', async () => events.includes('sync:error'));
    for (let i = 0; i < 20; i++) await notes.insert({ _id: `o${i + 2}` });
    await new Promise((r) => setTimeout(r, 200));
    // Full-jitter backoff: the first wait is 0-1 s, so a second attempt may fit in; never one per write.
    const cycles = events.filter((e) => e === 'sync:start').length;
    assert.ok(cycles <= 3, `${cycles} cycles for 21 writes while offline: ${events.join(', ')}`);
    assert.equal(db.getSyncStatus()?.pending, 21);
    assert.equal(db.getSyncStatus()?.state, 'offline');
  });
});
