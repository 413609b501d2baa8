/**
 * Live sync (`enableSync({ live: true })`): a local write starts a sync cycle at once (push on
 * write; writes made while one runs go in the next), and one long-poll per database brings other
 * replicas' changes as they happen. Backoff is honoured, close() ends the long-poll at once, and
 * the live request never keeps a Node process alive. A real server over HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { WiseJSON } from '../../src/engine';
import { DEFAULT_LIMITS } from '../../src/sync/protocol';
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

  const open = async (live: boolean | undefined, name = 'db'): Promise<WiseJSON> => {
    db = new WiseJSON(path.join(dir, name));
    await db.init();
    await db.collection('notes');
    for (const e of ['sync:start', 'sync:push_success', 'sync:error']) db.on(e, () => events.push(e));
    await db.enableSync({ url: server.url, apiKey: KEY, dataset: 'live', ...(live === undefined ? {} : { live }) });
    return db;
  };

  it('is the default: enableSync() without `live` pushes on write and keeps the live request', async () => {
    const notes = await (await open(undefined)).collection('notes');
    await notes.insert({ _id: 'd1' });
    await until('d1 on the server', async () => (await serverIds(server.url, 'notes')).includes('d1'));
    await until('the live request open', async () => db.getSyncStatus()?.mode === 'live');
  });

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

  it('no empty cycles: each write makes one cycle, its echo on the live request none', async () => {
    const d = await open(true);
    const notes = await d.collection('notes');
    await until('the live request open', async () => d.getSyncStatus()?.mode === 'live' && d.getSyncStatus()?.lastSyncAt !== null);
    const cycles: Array<{ pushed: number; pulled: number }> = [];
    d.on('sync:success', (e: { pushed: number; pulled: number }) => cycles.push({ pushed: e.pushed, pulled: e.pulled }));
    for (let i = 0; i < 5; i++) {
      await notes.insert({ _id: `w${i}` });
      await until(`w${i} on the server`, async () => (await serverIds(server.url, 'notes')).includes(`w${i}`));
      await new Promise((r) => setTimeout(r, 150)); // room for an echo cycle, if there were one
    }
    const empty = cycles.filter((c) => c.pushed === 0 && c.pulled === 0);
    assert.deepEqual(empty, [], `cycles: ${JSON.stringify(cycles)}`);
    assert.ok(cycles.length >= 5 && cycles.length <= 6, `${cycles.length} cycles for 5 writes: ${JSON.stringify(cycles)}`);
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
    assert.ok(cycles <= 8, `${cycles} cycles for 21 writes while offline (one per write would be 21): ${events.join(', ')}`);
    assert.equal(db.getSyncStatus()?.pending, 21);
    assert.equal(db.getSyncStatus()?.state, 'offline');
  });

  it('a server restart: the live request fails, backs off, and comes back by itself; writes made meanwhile arrive', async () => {
    const d = await open(true);
    const notes = await d.collection('notes');
    await until('the live request is open', async () => d.getSyncStatus()?.mode === 'live' && d.getSyncStatus()?.lastSyncAt !== null);
    const port = Number(new URL(server.url).port);
    await server.stop();
    await notes.insert({ _id: 'during-restart' });
    await until('offline', async () => d.getSyncStatus()?.state === 'offline');
    await server.start({ port });
    await until('the write made while the server was down on the server', async () => (await serverIds(server.url, 'notes')).includes('during-restart'), 20_000);
    // And the live request is back: another replica's write arrives without triggerSync.
    const other = new WiseJSON(path.join(dir, 'other'));
    try {
      await other.init();
      await other.enableSync({ url: server.url, apiKey: KEY, dataset: 'live', live: false });
      await (await other.collection('notes')).insert({ _id: 'from-other' });
      await other.triggerSync();
      await until('the other replica\'s write here', async () => (await notes.getById('from-other')) !== null, 20_000);
    } finally {
      await other.close();
    }
  });

  it('another replica\'s write arrives through the live request, without triggerSync (figures printed)', async () => {
    const a = await open(true, 'a');
    const b = await open(true, 'b');
    const others: WiseJSON[] = [a];
    try {
      const an = await a.collection('notes');
      const bn = await b.collection('notes');
      await until('b is live (its first cycle done)', async () => b.getSyncStatus()?.lastSyncAt !== null && a.getSyncStatus()?.lastSyncAt !== null);
      const ms: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        await an.insert({ _id: `live-${i}` });
        await until(`live-${i} in b`, async () => (await bn.getById(`live-${i}`)) !== null);
        ms.push(performance.now() - t0);
      }
      ms.sort((x, y) => x - y);
      console.log(`      write in A → visible in B: median ${ms[7].toFixed(1)} ms, min ${ms[0].toFixed(1)}, max ${ms[14].toFixed(1)} (15 writes)`);
      assert.equal(await bn.count(), 15);
    } finally {
      for (const o of others) await o.close();
    }
  });

  it('close() ends the live request at once', async () => {
    const d = await open(true);
    await until('the live request is open', async () => d.getSyncStatus()?.lastSyncAt !== null);
    await new Promise((r) => setTimeout(r, 100));
    await d.close();
    // The server sees the client go away (499) instead of the long-poll running its 25 s out.
    await until('the server to see the live request end', async () => server.logs.some((e) => e.path.includes('/changes') && e.status === 499), 5000);
  });

  it('disableSync() ends the live request at once', async () => {
    const d = await open(true);
    await until('the live request is open', async () => d.getSyncStatus()?.mode === 'live' && d.getSyncStatus()?.lastSyncAt !== null);
    await new Promise((r) => setTimeout(r, 100));
    await d.disableSync();
    await until('the server to see the live request end', async () => server.logs.some((e) => e.path.includes('/changes') && e.status === 499), 5000);
    assert.equal(d.getSyncStatus(), null);
  });

  it('honours the server\'s --max-wait-sec: each cut-short request is followed by the next, with no cycle', async () => {
    await server.restart({ limits: { ...DEFAULT_LIMITS, maxWaitSec: 0.2 } });
    const d = await open(true);
    await until('the live request is open', async () => d.getSyncStatus()?.mode === 'live' && d.getSyncStatus()?.lastSyncAt !== null);
    const cycles = events.filter((e) => e === 'sync:start').length;
    const polls = server.logs.filter((e) => e.path.includes('wait=')).length;
    await new Promise((r) => setTimeout(r, 1100));
    const morePolls = server.logs.filter((e) => e.path.includes('wait=')).length - polls;
    assert.ok(morePolls >= 3 && morePolls <= 8, `${morePolls} live requests in 1.1 s with the server's wait cut to 0.2 s`);
    assert.equal(events.filter((e) => e === 'sync:start').length, cycles, 'an empty answer starts no cycle');
    const notes = await d.collection('notes');
    await notes.insert({ _id: 'still-live' });
    await until('the write pushed', async () => (await serverIds(server.url, 'notes')).includes('still-live'));
  });

  it('offline: the live request waits out the backoff (no busy loop)', async () => {
    const d = await open(true);
    await until('live', async () => d.getSyncStatus()?.lastSyncAt !== null);
    await server.stop();
    await new Promise((r) => setTimeout(r, 1500));
    // Full-jitter backoff (0-1 s, then 0-2 s, …) allows a handful of attempts in 1.5 s; a busy
    // loop would make hundreds (a refused connection fails in about a millisecond).
    const cycles = events.filter((e) => e === 'sync:start').length;
    assert.ok(cycles <= 12, `${cycles} cycles in 1.5 s while the server is down`);
    assert.equal(d.getSyncStatus()?.state, 'offline');
  });

  it('a script that does its work and stops touching the database still exits (the live request is unref\'d)', async () => {
    const DIST = path.resolve(__dirname, '..', '..', '..', 'dist', 'wise-json.js');
    const script = path.join(dir, 'script.js');
    fs.writeFileSync(script, `
const WiseJSON = require(${JSON.stringify(DIST)});
(async () => {
  const db = new WiseJSON(${JSON.stringify(path.join(dir, 'script-db'))});
  await db.init();
  const notes = await db.collection('notes');
  await db.enableSync({ url: ${JSON.stringify(server.url)}, apiKey: ${JSON.stringify(KEY)}, dataset: 'live', live: true });
  await notes.insert({ _id: 'from-script' });
  await db.triggerSync();
  console.log('done');
  // no close(): the process must still exit on its own
})();
`);
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
    assert.equal(stdout, 'done\n');
    assert.ok((await serverIds(server.url, 'notes')).includes('from-script'));
  });

  it('two processes on one database: one holds the live request; when it closes the other takes over', async () => {
    // Two instances on one folder stand for two VS Code windows: the sync lock is a file lock.
    const first = await open(true, 'shared');
    const second = new WiseJSON(path.join(dir, 'shared'), { followIntervalMs: 50 });
    await second.init();
    await second.enableSync({ url: server.url, apiKey: KEY, dataset: 'live', live: true });
    const writerDir = path.join(dir, 'writer');
    const writer = new WiseJSON(writerDir);
    await writer.init();
    try {
      await writer.collection('notes');
      await writer.enableSync({ url: server.url, apiKey: KEY, dataset: 'live' });
      await until('one of them holds the sync lock', async () => first.getSyncStatus()?.lastSyncAt !== null || second.getSyncStatus()?.lastSyncAt !== null);
      await until('the other is in standby', async () => [first, second].some((d) => d.getSyncStatus()?.state === 'standby'));
      const [holder, standby] = first.getSyncStatus()?.state === 'standby' ? [second, first] : [first, second];
      await holder.close();
      const t0 = Date.now();
      await until('the standby one to take over', async () => standby.getSyncStatus()?.state !== 'standby', 5000);
      console.log(`      took over ${Date.now() - t0} ms after the holder closed`);
      await (await writer.collection('notes')).insert({ _id: 'after-takeover' });
      await writer.triggerSync();
      const notes = await standby.collection('notes');
      await until('the change to arrive through the new holder', async () => (await notes.getById('after-takeover')) !== null);
    } finally {
      await writer.close();
      await second.close();
      await first.close();
    }
  });
});
