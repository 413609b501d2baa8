/**
 * `readOnly: true`: an existing database is loaded and followed without a single change to its
 * folder (no lock file, no log, no checkpoint, no meta, no upgrade); every write rejects with
 * ReadOnlyError; a folder that is not a database is refused, and nothing is created.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReadOnlyError, StorageError, WiseJSON } from '../../../src/engine';
import { waitFor } from './tmpdb';

/** Every file below `dir` with its size and modification time: what "nothing written" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${path.relative(dir, p)}/`);
        walk(p);
      } else {
        const st = fs.statSync(p);
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

const isReadOnly = (e: unknown): boolean => e instanceof ReadOnlyError && e.code === 'READ_ONLY' && /read-only/.test(e.message);

describe('api: read-only databases', () => {
  let root = '';
  let dir = '';
  beforeEach(async () => {
    root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'wisejson-ro-'));
    dir = path.join(root, 'db');
    const db = new WiseJSON(dir);
    await db.init();
    const notes = await db.collection('notes');
    await notes.createIndex('tag');
    await notes.insertMany([{ _id: 'a', tag: 'x' }, { _id: 'b', tag: 'y' }]);
    await db.flushToDisk();
    await notes.insert({ _id: 'c', tag: 'x' }); // after the checkpoint: in the log only
    await db.close();
  });
  afterEach(async () => {
    await fs.promises.rm(root, { recursive: true, force: true });
  });

  it('loads everything, queries work, every write is refused, and the folder is untouched', async () => {
    const before = snapshot(dir);
    const db = new WiseJSON(dir, { readOnly: true });
    await db.init();
    const notes = await db.collection('notes');
    assert.deepEqual((await notes.find({ tag: 'x' })).map((d) => d._id).sort(), ['a', 'c']);
    assert.equal(await notes.count(), 3);
    await assert.rejects(notes.insert({ _id: 'd' }), isReadOnly);
    await assert.rejects(notes.update('a', { tag: 'z' }), isReadOnly);
    await assert.rejects(notes.remove('a'), isReadOnly);
    await assert.rejects(notes.createIndex('other'), isReadOnly);
    await assert.rejects(db.collection('new-one'), isReadOnly);
    await assert.rejects(db.flushToDisk(), isReadOnly);
    await assert.rejects(db.enableSync({ url: 'http://127.0.0.1:9', apiKey: 'k' }), isReadOnly);
    assert.equal(await notes.count(), 3);
    await db.close();
    assert.deepEqual(snapshot(dir), before, 'not a byte written, no lock file, no new file');
  });

  it('follows another process\'s writes, also across that process\'s checkpoints', async () => {
    const reader = new WiseJSON(dir, { readOnly: true, followIntervalMs: 20 });
    await reader.init();
    const writer = new WiseJSON(dir, { walSegmentBytes: 4096, maxWalEntriesBeforeCheckpoint: 20 });
    await writer.init();
    try {
      const notes = await reader.collection('notes');
      const w = await writer.collection('notes');
      for (let i = 0; i < 100; i++) await w.insert({ _id: `w${i}`, tag: 'w', pad: 'p'.repeat(100) });
      await waitFor(async () => (await notes.count()) === 103, 5000, 'the reader sees every write');
      assert.deepEqual((await notes.find({ tag: 'w' })).length, 100);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('refuses a folder that is not a database, and creates nothing', async () => {
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    await assert.rejects(new WiseJSON(empty, { readOnly: true }).init(), (e: unknown) => e instanceof StorageError && /not a WiseJSON database/.test((e as Error).message));
    assert.deepEqual(fs.readdirSync(empty), []);
    const missing = path.join(root, 'missing');
    await assert.rejects(new WiseJSON(missing, { readOnly: true }).init(), StorageError);
    assert.equal(fs.existsSync(missing), false);
  });
});
