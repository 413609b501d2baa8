/** The one-time upgrade of a WiseJSON 6 folder on open: atomic, reversible, crash-safe, one process at a time. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { UniqueConstraintError, UpgradeNeededError, UpgradeReport, WiseJSON, Wisejson6DataError } from '../../../src/engine';
import { FIXTURES, useFixtureCopies } from './fixtures';

const CHILD = path.join(__dirname, '..', 'fixtures', 'upgrade-child.js');
const run = promisify(execFile);

/** Every file under `dir` with its bytes, for "moved, not rewritten" and "nothing written". */
function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    if (skip(rel)) continue;
    const p = path.join(dir, rel);
    out[rel] = fs.statSync(p).isDirectory() ? '<dir>' : fs.readFileSync(p, 'latin1');
  }
  return out;
}

const isLock = (rel: string): boolean => rel.startsWith('write.lock');

async function openAndReport(dir: string, options = {}): Promise<{ db: WiseJSON; report: UpgradeReport | null }> {
  const db = new WiseJSON(dir, { checkpointIntervalMs: 0, ...options });
  let report: UpgradeReport | null = null;
  db.on('upgraded', (r: UpgradeReport) => (report = r));
  await db.init();
  return { db, report };
}

/** What the notes fixture holds once upgraded (see make-fixtures.js). */
async function assertNotesUpgraded(dir: string): Promise<void> {
  const db = new WiseJSON(dir, { checkpointIntervalMs: 0 });
  try {
    assert.deepEqual(await db.getCollectionNames(), ['notes', 'users']);
    const notes = await db.collection('notes');
    assert.deepEqual((await notes.find({}, null, { sort: { _id: 1 } })).map((d) => d._id), ['n1', 'n2', 'n5']);
    assert.equal((await notes.getById('n1'))!.title, 'first, edited after');
    assert.deepEqual(await notes.getIndexes(), [{ fieldName: 'title', type: 'unique' }]);
    const users = await db.collection('users');
    assert.equal(await users.count(), 3);
    assert.deepEqual(await users.getIndexes(), [
      { fieldName: 'email', type: 'unique' },
      { fieldName: 'city', type: 'standard' },
    ]);
    // The backup is the old folders themselves, byte for byte: WiseJSON 6 opens it as before.
    assert.deepEqual(snapshot(path.join(dir, 'wisejson6-backup')), snapshot(path.join(FIXTURES, 'notes')));
    for (const old of ['notes', 'users', '.wisejson6-upgrade']) assert.ok(!fs.existsSync(path.join(dir, old)), `${old} is gone from the database folder`);
  } finally {
    await db.close();
  }
}

describe('upgrade: a WiseJSON 6 folder opens with all its data', () => {
  const copy = useFixtureCopies();

  it('upgrades once: collections, documents, indexes; the old folders moved into the backup; an upgraded event', async () => {
    const dir = copy('notes');
    const { db, report } = await openAndReport(dir);
    assert.ok(report, 'upgraded event');
    assert.deepEqual(report, db.upgradeReport);
    assert.deepEqual(
      { ...report, backup: path.relative(dir, report.backup) },
      { from: 'wisejson6', collections: 2, documents: 6, indexes: 3, renamedIds: 0, expired: 0, backup: 'wisejson6-backup', skipped: { files: [], documents: 0, walLines: 0 }, problems: [] },
    );
    const notes = await db.collection('notes');
    await assert.rejects(notes.insert({ title: 'second, edited' }), UniqueConstraintError);
    await notes.insert({ _id: 'n6', title: 'written after the upgrade' });
    await db.close();

    const again = await openAndReport(dir);
    assert.equal(again.report, null, 'the second open does not upgrade again');
    assert.equal(await (await again.db.collection('notes')).count(), 4);
    await again.db.close();
  });

  it('numeric ids, TTL, transactions and unique indexes work after the upgrade', async () => {
    const dir = copy('shop');
    const { db, report } = await openAndReport(dir);
    assert.equal(report!.renamedIds, 3);
    assert.equal(report!.expired, 1);
    const items = await db.collection('items');
    assert.equal((await items.getById('7'))!.name, 'numeric id');
    assert.equal((await items.getById('item03'))!.reserved, true);
    await assert.rejects(items.insert({ sku: 'SKU-2' }), UniqueConstraintError);
    assert.equal(await items.count({ expireAt: { $exists: true } }), 1);
    const orders = await db.collection('orders');
    assert.deepEqual((await orders.find({}, null, { sort: { _id: 1 } })).map((d) => d._id), ['1', '2', 'o-tx', 'o3']);
    await db.close();
  });

  it('a damaged file stops the open naming it, with the old data untouched; recoverCorruptLog upgrades without it', async () => {
    const dir = copy('notes');
    const seg = path.join(dir, 'users', '_checkpoints', fs.readdirSync(path.join(dir, 'users', '_checkpoints')).find((f) => f.includes('_data_'))!);
    fs.writeFileSync(seg, '[{"_id":');
    const before = snapshot(dir);
    await assert.rejects(new WiseJSON(dir).init(), (err: unknown) => err instanceof Wisejson6DataError && err.file === seg);
    assert.deepEqual(snapshot(dir, isLock), before, 'nothing written (but the released lock)');

    const { db, report } = await openAndReport(dir, { recoverCorruptLog: 'truncate' });
    assert.deepEqual(report!.skipped, { files: [seg], documents: 2, walLines: 0 });
    assert.equal(await (await db.collection('users')).count(), 1, 'u3, from the WAL');
    assert.equal(await (await db.collection('notes')).count(), 3);
    await db.close();
  });

  it('a read-only open refuses to upgrade and writes nothing', async () => {
    const dir = copy('notes');
    const before = snapshot(dir);
    await assert.rejects(new WiseJSON(dir, { readOnly: true }).init(), (err: unknown) => err instanceof UpgradeNeededError && err.code === 'UPGRADE_NEEDED');
    assert.deepEqual(snapshot(dir), before);
  });

  it('a folder that already has a wisejson6-backup gets the next name', async () => {
    const dir = copy('notes');
    fs.mkdirSync(path.join(dir, 'wisejson6-backup'));
    const { db, report } = await openAndReport(dir);
    assert.equal(path.basename(report!.backup), 'wisejson6-backup-2');
    await db.close();
  });

  /** The files of a database of ours in `dir`, as an earlier version wrote them beside the old data. */
  async function ourDatabaseBeside(dir: string, docs: number): Promise<void> {
    const other = copy(null);
    const db = new WiseJSON(other, { checkpointIntervalMs: 0 });
    const notes = await db.collection('notes');
    for (let i = 0; i < docs; i++) await notes.insert({ _id: `ours${i}` });
    await db.close();
    for (const item of ['meta.json', 'wal', 'checkpoints']) fs.cpSync(path.join(other, item), path.join(dir, item), { recursive: true });
  }

  it('an empty database an earlier version wrote beside the old data gives way to the upgrade', async () => {
    const dir = copy('notes');
    await ourDatabaseBeside(dir, 0);
    const { db, report } = await openAndReport(dir);
    assert.equal(report?.documents, 6);
    await db.close();
    await assertNotesUpgraded(dir);
  });

  it('a database of ours that holds documents is never replaced: the old folders stay as they are', async () => {
    const dir = copy('notes');
    await ourDatabaseBeside(dir, 1);
    const { db, report } = await openAndReport(dir);
    assert.equal(report, null);
    assert.equal(await (await db.collection('notes')).count(), 1);
    await db.close();
    assert.deepEqual(snapshot(path.join(dir, 'notes')), snapshot(path.join(FIXTURES, 'notes', 'notes')));
  });

  describe('kill -9 during the upgrade', () => {
    const undecided = ['read', 'checkpoint', 'staged'];
    const decided = ['journal', 'moved:notes', 'moved:users', 'placed:wal', 'placed:checkpoints', 'placed:meta.json', 'done'];
    for (const step of [...undecided, ...decided]) {
      it(`killed at "${step}": ${undecided.includes(step) ? 'the old data stays in place and the next open upgrades' : 'the next open finishes the upgrade'}`, async () => {
        const dir = copy('notes');
        await assert.rejects(run(process.execPath, [CHILD, dir, step]), (err: { signal?: string }) => err.signal === 'SIGKILL');
        if (undecided.includes(step)) {
          const old = snapshot(path.join(FIXTURES, 'notes'));
          const now = snapshot(dir, (rel) => isLock(rel) || rel.startsWith('.wisejson6-upgrade'));
          assert.deepEqual(now, old, 'the old data is where it was');
        }
        const { stdout } = await run(process.execPath, [CHILD, dir]);
        const seen = JSON.parse(stdout) as { upgraded: UpgradeReport | null; counts: Record<string, number> };
        assert.deepEqual(seen.counts, { notes: 3, users: 3 });
        if (step !== 'done') assert.equal(seen.upgraded?.documents, 6, 'reported by the open that finished it');
        await assertNotesUpgraded(dir);
      });
    }
  });

  it('two processes opening the old folder at once: one upgrades, the other waits and opens the result', async () => {
    const dir = copy('shop');
    const [a, b] = await Promise.all([run(process.execPath, [CHILD, dir]), run(process.execPath, [CHILD, dir])]);
    const seen = [a, b].map((r) => JSON.parse(r.stdout) as { upgraded: UpgradeReport | null; counts: Record<string, number> });
    assert.equal(seen.filter((s) => s.upgraded).length, 1, 'exactly one upgraded');
    for (const s of seen) assert.deepEqual(s.counts, { items: 13, orders: 4 });
    assert.deepEqual(snapshot(path.join(dir, 'wisejson6-backup')), snapshot(path.join(FIXTURES, 'shop')));
  });
});
