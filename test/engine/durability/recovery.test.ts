import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptionError, WiseJSON } from '../../../src/engine';

function segments(dbPath: string): string[] {
  return fs.readdirSync(path.join(dbPath, 'wal')).filter((f) => f.endsWith('.log')).sort().map((f) => path.join(dbPath, 'wal', f));
}

/** Where the written records of a (zero-preallocated) segment end: walks the frames. */
function recordsEnd(buf: Buffer): number {
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const len = buf.readUInt32LE(pos);
    if (len === 0 && buf.readUInt32LE(pos + 4) === 0) break;
    pos += 12 + len;
  }
  return pos;
}

function checkpoints(dbPath: string): string[] {
  return fs.readdirSync(path.join(dbPath, 'checkpoints')).filter((f) => f.endsWith('.ckpt')).sort().map((f) => path.join(dbPath, 'checkpoints', f));
}

const DIE_AFTER = path.join(__dirname, '..', 'fixtures', 'die-after.js');

/** Runs a scenario in a child process that then kills itself (SIGKILL): a real crash. */
async function crashAfter(dbPath: string, scenario: string): Promise<void> {
  const child = fork(DIE_AFTER, [dbPath, scenario], { stdio: 'inherit' });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', `scenario ${scenario} did not reach its crash`);
}

describe('recovery', function () {
  this.timeout(60_000);
  let dir: string;
  let dbPath: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-rec-'));
    dbPath = path.join(dir, 'db');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens an empty database, closes and reopens it', async () => {
    const db = new WiseJSON(dbPath);
    await db.init();
    assert.deepEqual(await db.getCollectionNames(), []);
    await db.close();
    const again = new WiseJSON(dbPath);
    await again.init();
    assert.deepEqual(await again.getCollectionNames(), []);
    await again.close();
  });

  it('replays the log after a crash without a checkpoint, removes and clears included', async () => {
    await crashAfter(dbPath, 'mixed');
    const db = new WiseJSON(dbPath);
    await db.init();
    const c = await db.collection('c');
    assert.equal(await c.count(), 25);
    assert.equal(await c.getById('d0'), null, 'a removed document came back');
    assert.equal((await c.getById('d1'))?.i, 100);
    assert.equal(await (await db.collection('other')).count(), 0, 'a cleared collection came back');
    await db.close();
  });

  it('cuts off a torn record at the tail of the log and keeps everything before it', async () => {
    await crashAfter(dbPath, 'ten');
    const [seg] = segments(dbPath).slice(-1);
    const end = recordsEnd(fs.readFileSync(seg));
    // Half a frame right after the last record: a valid header, then a payload cut short.
    const torn = Buffer.alloc(30, 7);
    torn.writeUInt32LE(500, 0);
    torn.writeUInt32LE(~500 >>> 0, 4);
    const fd = fs.openSync(seg, 'r+');
    fs.writeSync(fd, torn, 0, torn.length, end);
    fs.closeSync(fd);
    const db = new WiseJSON(dbPath);
    await db.init();
    const c = await db.collection('c');
    assert.equal(await c.count(), 10);
    assert.equal(recordsEnd(fs.readFileSync(seg)), end, 'the torn tail was not cut off');
    await c.insert({ _id: 'after' });
    await db.close();
    const again = new WiseJSON(dbPath);
    await again.init();
    assert.equal(await (await again.collection('c')).count(), 11);
    await again.close();
  });

  it('reports a damaged record before the tail with its file and offset, and can truncate there', async () => {
    await crashAfter(dbPath, 'twenty');
    const [seg] = segments(dbPath).slice(-1);
    const buf = fs.readFileSync(seg);
    const at = Math.floor(recordsEnd(buf) / 2);
    buf[at] ^= 0xff; // flip a byte in the middle: a checksum or header will not match
    fs.writeFileSync(seg, buf);
    const db = new WiseJSON(dbPath);
    await assert.rejects(db.init(), (err: unknown) => {
      assert.ok(err instanceof CorruptionError);
      assert.equal(err.code, 'CORRUPTION');
      assert.equal(err.file, seg);
      assert.ok(err.offset > 0 && err.offset <= at, `offset ${err.offset} should point at or before byte ${at}`);
      assert.match(err.message, /recoverCorruptLog/);
      return true;
    });
    await db.close();
    const repaired = new WiseJSON(dbPath, { recoverCorruptLog: 'truncate' });
    await repaired.init();
    const n = await (await repaired.collection('c')).count();
    assert.ok(n > 0 && n < 20, `expected the records before the damage, got ${n}`);
    assert.ok(fs.readdirSync(path.join(dbPath, 'wal')).some((f) => f.includes('.corrupt-')), 'the damaged bytes were not kept aside');
    await repaired.close();
  });

  it('never loads a torn checkpoint: falls back to the previous one and the log', async () => {
    const db = new WiseJSON(dbPath, { checkpointsToKeep: 2 });
    await db.init();
    const c = await db.collection('c');
    for (let i = 0; i < 30; i++) await c.insert({ _id: `a${i}` });
    await db.flushToDisk();
    for (let i = 0; i < 30; i++) await c.insert({ _id: `b${i}` });
    await db.flushToDisk();
    await c.remove('a0');
    await db.close();
    const cps = checkpoints(dbPath);
    assert.ok(cps.length >= 2);
    const newest = cps[cps.length - 1];
    const size = fs.statSync(newest).size;
    fs.truncateSync(newest, Math.floor(size / 2)); // torn: as if the rename had happened too early
    const warnings: unknown[] = [];
    const again = new WiseJSON(dbPath);
    again.on('warning', (w) => warnings.push(w));
    await again.init();
    const c2 = await again.collection('c');
    assert.equal(await c2.count(), 59);
    assert.equal(await c2.getById('a0'), null);
    assert.ok(warnings.some((w) => w instanceof CorruptionError), 'the torn checkpoint was not reported');
    await again.close();
  });

  it('ignores a checkpoint temp file left by a crash mid-checkpoint', async () => {
    const db = new WiseJSON(dbPath);
    await db.init();
    await (await db.collection('c')).insert({ _id: 'x' });
    await db.close();
    fs.writeFileSync(path.join(dbPath, 'checkpoints', 'ckpt-0000000000000099.ckpt.123.abc.tmp'), '{"garbage":');
    const again = new WiseJSON(dbPath);
    await again.init();
    assert.ok(await (await again.collection('c')).getById('x'));
    await again.close();
  });

  it('rotates tiny log segments and checkpoints often, keeping every write across reopen', async () => {
    const options = { walSegmentBytes: 300, maxWalEntriesBeforeCheckpoint: 7, checkpointsToKeep: 2 };
    const db = new WiseJSON(dbPath, options);
    await db.init();
    const c = await db.collection('c');
    await c.createIndex('k', { unique: true });
    for (let i = 0; i < 200; i++) await c.insert({ _id: `d${i}`, k: i });
    for (let i = 0; i < 200; i += 3) await c.update(`d${i}`, { k: 1000 + i });
    for (let i = 1; i < 200; i += 3) await c.remove(`d${i}`);
    await db.flushToDisk(); // let the checkpoint in flight finish its clean-up
    assert.ok(checkpoints(dbPath).length <= 2, 'old checkpoints were not removed');
    assert.ok(segments(dbPath).length < 40, `old segments were not removed (${segments(dbPath).length})`);
    await db.close();
    const again = new WiseJSON(dbPath, options);
    await again.init();
    const c2 = await again.collection('c');
    assert.equal(await c2.count(), 200 - 67);
    assert.equal((await c2.getById('d3'))?.k, 1003);
    assert.equal(await c2.getById('d4'), null);
    await assert.rejects(c2.insert({ k: 1003 }), /unique/);
    await again.close();
  });
});
