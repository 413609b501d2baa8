/**
 * Compatibility across the checkpoint-proof change, with the previous release's code built from
 * git history (the server CLI and the library, bundled with esbuild as `npm run build` does):
 * an old client syncs with this server, this client syncs with the old server, and a data folder
 * of the old server opens in this one and goes on syncing, now with proofs.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { liveDocs, ServerProcess, serverState } from './harness';
import { AnyDb, usePreviousRelease } from './previous-release';

/** The last release before checkpoint proofs (main before issue #20). */
const PREVIOUS = '2503648';

describe('sync: compatibility with the previous release (built from git history)', function () {
  this.timeout(180_000);
  const setup = usePreviousRelease(PREVIOUS);
  const { open } = setup;
  let previous: { server: string; library: string };
  let dir = '';
  beforeEach(() => {
    previous = setup.previous();
    dir = setup.dir();
  });

  it('a client of the previous release syncs both ways with this server', async () => {
    const server = new ServerProcess(path.join(dir, 'server'));
    await server.start();
    const Old = require(previous.library) as new (p: string) => AnyDb;
    const a = await open(Old, 'old', server.url);
    const b = await open(WiseJSON as unknown as new (p: string) => AnyDb, 'new', server.url);
    try {
      await (await a.db.collection('notes')).insert({ _id: 'from-old', n: 1 });
      await a.db.triggerSync();
      await b.db.triggerSync();
      await (await b.db.collection('notes')).insert({ _id: 'from-new', n: 2 });
      await b.db.triggerSync();
      await a.db.triggerSync();
      assert.equal((await (await b.db.collection('notes')).getById('from-old'))?.n, 1);
      assert.equal((await (await a.db.collection('notes')).getById('from-new'))?.n, 2);
      assert.deepEqual([...a.errors, ...b.errors], []);
      assert.ok((b.db as unknown as WiseJSON)._sync.collections.get('notes')?.proof, 'this client holds the proof of its cursor');
    } finally {
      await a.db.close();
      await b.db.close();
      await server.stop();
    }
  });

  it('this client syncs with the previous release\'s server, and goes on with proofs after the server is upgraded on the same data', async () => {
    const data = path.join(dir, 'server');
    const old = new ServerProcess(data, [], previous.server);
    await old.start();
    const New = WiseJSON as unknown as new (p: string) => AnyDb;
    const a = await open(New, 'a', old.url);
    const b = await open(New, 'b', old.url);
    try {
      await (await a.db.collection('notes')).insert({ _id: 'a1', n: 1 });
      await a.db.triggerSync();
      await b.db.triggerSync();
      assert.equal((await (await b.db.collection('notes')).getById('a1'))?.n, 1);
      assert.equal((b.db as unknown as WiseJSON)._sync.collections.get('notes')?.proof, undefined, 'an old server sends no proof');
      await a.db.close();
      await b.db.close();
      await old.stop();

      // The same data folder under this release's server (a new URL: another port).
      const upgraded = new ServerProcess(data);
      await upgraded.start();
      try {
        const a2 = await open(New, 'a', upgraded.url);
        const b2 = await open(New, 'b', upgraded.url);
        await (await b2.db.collection('notes')).insert({ _id: 'b1', n: 2 });
        await b2.db.triggerSync();
        await a2.db.triggerSync();
        assert.equal((await (await a2.db.collection('notes')).getById('b1'))?.n, 2);
        assert.deepEqual([...a2.errors, ...b2.errors], []);
        assert.ok((a2.db as unknown as WiseJSON)._sync.collections.get('notes')?.proof, 'proofs from the upgraded server');
        assert.deepEqual([...liveDocs(await serverState(upgraded.url), 'notes').keys()].sort(), ['a1', 'b1']);
        await a2.db.close();
        await b2.db.close();
      } finally {
        await upgraded.stop();
      }
    } finally {
      await a.db.close().catch(() => undefined);
      await b.db.close().catch(() => undefined);
      await old.stop();
    }
  });

  it('the proof is kept with the cursor across a reopen, from the log and from a checkpoint', async () => {
    const server = new ServerProcess(path.join(dir, 'server'));
    await server.start();
    try {
      const New = WiseJSON as unknown as new (p: string) => AnyDb;
      const a = await open(New, 'a', server.url);
      await (await a.db.collection('notes')).insert({ _id: 'a1', n: 1 });
      await a.db.triggerSync();
      const proof = (a.db as unknown as WiseJSON)._sync.collections.get('notes')?.proof;
      assert.match(proof ?? '', /^[A-Za-z0-9_-]{32}$/);
      await a.db.close();
      const fromLog = new WiseJSON(path.join(dir, 'a'));
      await fromLog.init();
      assert.equal(fromLog._sync.collections.get('notes')?.proof, proof, 'replayed from the log');
      await fromLog.flushToDisk();
      await fromLog.close();
      const fromCheckpoint = new WiseJSON(path.join(dir, 'a'));
      await fromCheckpoint.init();
      assert.equal(fromCheckpoint._sync.collections.get('notes')?.proof, proof, 'loaded from the checkpoint');
      await fromCheckpoint.close();
    } finally {
      await server.stop();
    }
  });
});
