/** Reading WiseJSON 6 folders written by the real WiseJSON 6.0.4 (test/fixtures/wisejson6). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findWisejson6Collections, readWisejson6, Wisejson6Data } from '../../../src/engine/upgrade/wisejson6-reader';
import { Wisejson6DataError } from '../../../src/engine';
import { FIXTURES, useFixtureCopies } from './fixtures';

function listTree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

function docsOf(data: Wisejson6Data, name: string): Record<string, Record<string, unknown>> {
  const c = data.collections.find((x) => x.name === name);
  assert.ok(c, `collection ${name}`);
  return Object.fromEntries(c.docs.map((d) => [d._id, d]));
}

function newestCheckpoint(dir: string, coll: string): { stamp: string; files: string[] } {
  const cps = path.join(dir, coll, '_checkpoints');
  const metas = fs.readdirSync(cps).filter((f) => f.startsWith('checkpoint_meta_')).sort();
  const stamp = metas[metas.length - 1].slice(`checkpoint_meta_${coll}_`.length, -'.json'.length);
  return { stamp, files: fs.readdirSync(cps).filter((f) => f.includes(stamp)).sort().map((f) => path.join(cps, f)) };
}

describe('upgrade: reading WiseJSON 6 folders', () => {
  const copy = useFixtureCopies();

  it('finds the collection folders, and none in a folder of ours or an empty one', async () => {
    assert.deepEqual(await findWisejson6Collections(path.join(FIXTURES, 'notes')), ['notes', 'users']);
    assert.deepEqual(await findWisejson6Collections(path.join(FIXTURES, 'shop')), ['items', 'orders']);
    const empty = copy(null);
    fs.mkdirSync(path.join(empty, 'wal'));
    fs.mkdirSync(path.join(empty, 'checkpoints'));
    assert.deepEqual(await findWisejson6Collections(empty), []);
    assert.deepEqual(await findWisejson6Collections(path.join(empty, 'missing')), []);
  });

  it('reads the checkpoint, then the WAL after it: updates, removes, inserts, index definitions', async () => {
    const dir = copy('notes');
    const before = listTree(dir);
    const data = await readWisejson6(dir);
    assert.deepEqual(listTree(dir), before, 'reading writes nothing');
    assert.deepEqual(data.entries, ['notes', 'users']);
    const notes = docsOf(data, 'notes');
    assert.deepEqual(Object.keys(notes).sort(), ['n1', 'n2', 'n5']);
    assert.equal(notes.n1.title, 'first, edited after');
    assert.deepEqual(notes.n1.tags, ['a', 'b']);
    assert.equal(notes.n2.title, 'second, edited');
    assert.equal(typeof notes.n5.createdAt, 'string');
    const users = docsOf(data, 'users');
    assert.deepEqual(Object.keys(users).sort(), ['u1', 'u2', 'u3']);
    assert.deepEqual(data.collections.find((c) => c.name === 'notes')!.indexes, [{ field: 'title', unique: true }]);
    assert.deepEqual(data.collections.find((c) => c.name === 'users')!.indexes, [
      { field: 'email', unique: true },
      { field: 'city', unique: false },
    ]);
    assert.deepEqual(data.problems, []);
    assert.deepEqual(data.skipped, { files: [], documents: 0, walLines: 0 });
  });

  it('applies a remove written after the checkpoint (WiseJSON 6 brings the document back)', async () => {
    const data = await readWisejson6(copy('notes'));
    assert.equal(docsOf(data, 'notes').n3, undefined);
    assert.equal(docsOf(data, 'notes').n4, undefined);
  });

  it('segmented checkpoints, transactions, TTL and numeric ids', async () => {
    const data = await readWisejson6(copy('shop'));
    const items = docsOf(data, 'items');
    assert.equal(items.item01.price, 15);
    assert.equal(items.item02.price, 25);
    assert.equal(items.item03.price, 35);
    assert.equal(items.item03.reserved, true);
    assert.match(String(items.item03._txn), /^txn_/);
    assert.equal(items.item11, undefined, 'removed after the checkpoint');
    assert.equal(items.item12, undefined, 'removed before the checkpoint');
    assert.equal(items['7'].name, 'numeric id', 'a numeric _id becomes its decimal string');
    assert.equal(items.forever.expireAt, '2999-01-01T00:00:00.000Z');
    assert.equal(typeof items['ttl-long'].ttl, 'number');
    assert.equal(items.gone, undefined, 'expired');
    assert.equal(data.expired, 1);
    assert.deepEqual(data.collections.find((c) => c.name === 'items')!.indexes, [{ field: 'sku', unique: true }]);

    const orders = docsOf(data, 'orders');
    assert.deepEqual(Object.keys(orders).sort(), ['1', '2', 'o-tx', 'o3']);
    assert.equal(orders.o3.qty, 4);
    assert.equal(orders['o-tx'].createdAt, orders['o-tx'].updatedAt, 'a transaction insert gets its op time');
    assert.equal(orders.never, undefined, 'a transaction without a commit line never happened');
    assert.equal(data.renamedIds, 3);
    assert.deepEqual(data.problems, []);
  });

  it('a damaged checkpoint segment stops the read, naming the file; recover skips it and counts', async () => {
    const dir = copy('shop');
    const { files } = newestCheckpoint(dir, 'items');
    const seg = files.find((f) => f.endsWith('_seg1.json'))!;
    const held = (JSON.parse(fs.readFileSync(seg, 'utf8')) as unknown[]).length;
    fs.writeFileSync(seg, '[{"_id": "item0');
    await assert.rejects(readWisejson6(dir), (err: unknown) => {
      assert.ok(err instanceof Wisejson6DataError);
      assert.equal(err.code, 'WISEJSON6_DAMAGED');
      assert.equal(err.file, seg);
      assert.match(err.message, /Nothing was upgraded/);
      return true;
    });
    const data = await readWisejson6(dir, { recover: true });
    assert.deepEqual(data.skipped.files, [seg]);
    assert.equal(data.skipped.documents, held);
    assert.ok(docsOf(data, 'items').item02, 'the other segments and the WAL are read');
  });

  it('a damaged meta file and a damaged WAL line stop the read; a torn last WAL line does not', async () => {
    const dir = copy('notes');
    const wal = path.join(dir, 'notes', 'wal_notes.log');
    fs.appendFileSync(wal, '{"op":"INSERT","doc":{"_id":"torn"');
    const data = await readWisejson6(dir);
    assert.equal(docsOf(data, 'notes').torn, undefined);

    fs.appendFileSync(wal, '\n{"op":"INSERT","doc":{"_id":"n9","updatedAt":"2999-01-01T00:00:00.000Z"}}\n');
    await assert.rejects(readWisejson6(dir), (err: unknown) => err instanceof Wisejson6DataError && err.file === wal && /line 4/.test(err.message));
    const recovered = await readWisejson6(dir, { recover: true });
    assert.equal(recovered.skipped.walLines, 1);
    assert.ok(docsOf(recovered, 'notes').n9);

    const other = copy('notes');
    const meta = newestCheckpoint(other, 'users').files.find((f) => f.includes('checkpoint_meta_'))!;
    fs.writeFileSync(meta, '{');
    await assert.rejects(readWisejson6(other), (err: unknown) => err instanceof Wisejson6DataError && err.file === meta);
  });

  it('a checkpoint cut short (a segment never written) is passed over for the one before', async () => {
    const dir = copy('shop');
    const { files } = newestCheckpoint(dir, 'items');
    fs.rmSync(files.filter((f) => f.includes('_seg')).pop()!);
    const data = await readWisejson6(dir);
    const items = docsOf(data, 'items');
    assert.equal(items.item01.price, 10, 'the older checkpoint');
    assert.equal(items['7'], undefined);
    assert.deepEqual(data.skipped.files, []);
  });

  it('reports documents it cannot store, and a unique index whose values repeat', async () => {
    const dir = copy('shop');
    const wal = path.join(dir, 'items', 'wal_items.log');
    const t = '2999-01-01T00:00:00.000Z';
    fs.appendFileSync(wal, [
      { op: 'INSERT', doc: { _id: '7', name: 'string seven', updatedAt: t } },
      { op: 'INSERT', doc: { _id: 'x'.repeat(600), name: 'long id', updatedAt: t } },
      { op: 'INSERT', doc: { _id: 'dup', sku: 'SKU-1', updatedAt: t } },
    ].map((e) => JSON.stringify(e)).join('\n') + '\n');
    const data = await readWisejson6(dir);
    const items = docsOf(data, 'items');
    assert.equal(items['7'].name, 'string seven', 'the string id keeps its place');
    assert.equal(data.problems.length, 3, JSON.stringify(data.problems));
    assert.match(data.problems.find((p) => p.id === '7')!.reason, /another document already has/);
    assert.match(data.problems.find((p) => p.id?.startsWith('xxx'))!.reason, /at most 512/);
    assert.match(data.problems.find((p) => !p.id)!.reason, /unique index on "sku" becomes a standard index/);
    assert.deepEqual(data.collections.find((c) => c.name === 'items')!.indexes, [{ field: 'sku', unique: false }]);
  });
});
