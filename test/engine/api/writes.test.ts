/** updateOne / updateMany / findOneAndUpdate / deleteOne / deleteMany and update operators, through a collection. */
import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/engine';
import { ids, isDeepFrozen, useTmpDb } from './tmpdb';

describe('api: filtered writes', () => {
  const t = useTmpDb();

  async function seeded() {
    const c = await t.db.collection('items');
    await c.insertMany([
      { _id: 'a', kind: 'fruit', name: 'apple', qty: 5, tags: ['red', 'sweet'] },
      { _id: 'b', kind: 'fruit', name: 'banana', qty: 0, tags: ['yellow'] },
      { _id: 'c', kind: 'veg', name: 'carrot', qty: 12, tags: ['orange'] },
      { _id: 'd', kind: 'veg', name: 'daikon', qty: 3 },
    ]);
    return c;
  }

  describe('updateOne / updateMany', () => {
    it('updateOne reports matchedCount and modifiedCount', async () => {
      const c = await seeded();
      assert.deepEqual(await c.updateOne({ _id: 'a' }, { $set: { qty: 6 } }), { matchedCount: 1, modifiedCount: 1 });
      assert.equal((await c.getById('a'))!.qty, 6);
      // Matches but changes nothing.
      assert.deepEqual(await c.updateOne({ _id: 'a' }, { $set: { qty: 6 } }), { matchedCount: 1, modifiedCount: 0 });
      // Matches nothing.
      assert.deepEqual(await c.updateOne({ _id: 'zzz' }, { $set: { qty: 1 } }), { matchedCount: 0, modifiedCount: 0 });
      assert.deepEqual(await c.updateOne({ kind: 'mineral' }, { $set: { qty: 1 } }), { matchedCount: 0, modifiedCount: 0 });
    });

    it('updateOne changes only the first match', async () => {
      const c = await seeded();
      assert.deepEqual(await c.updateOne({ kind: 'veg' }, { $inc: { qty: 100 } }), { matchedCount: 1, modifiedCount: 1 });
      const qtys = (await c.find({ kind: 'veg' })).map((d) => d.qty as number).sort((x, y) => x - y);
      assert.equal(qtys.filter((q) => q >= 100).length, 1);
    });

    it('a no-op update writes nothing and keeps updatedAt', async () => {
      const c = await seeded();
      const old = await c.getById('a');
      const before = t.walBytes();
      assert.deepEqual(await c.updateMany({}, { $set: { kind: 'fruit' } }), { matchedCount: 4, modifiedCount: 2 });
      const after = t.walBytes();
      assert.ok(after > before);
      assert.deepEqual(await c.updateOne({ _id: 'a' }, { $set: { qty: 5 } }), { matchedCount: 1, modifiedCount: 0 });
      assert.equal(t.walBytes(), after);
      assert.deepEqual(await c.getById('a'), old);
    });

    it('updateMany updates every match', async () => {
      const c = await seeded();
      assert.deepEqual(await c.updateMany({ kind: 'fruit' }, { $set: { ripe: true }, $inc: { qty: 1 } }), { matchedCount: 2, modifiedCount: 2 });
      assert.deepEqual(ids(await c.find({ ripe: true })), ['a', 'b']);
      assert.equal((await c.getById('b'))!.qty, 1);
      assert.equal((await c.getById('c'))!.ripe, undefined);
      assert.deepEqual(await c.updateMany({ kind: 'none' }, { $set: { x: 1 } }), { matchedCount: 0, modifiedCount: 0 });
    });

    it('updateMany with a function filter', async () => {
      const c = await seeded();
      const r = await c.updateMany((d) => (d.qty as number) > 4, { $set: { big: true } });
      assert.deepEqual(r, { matchedCount: 2, modifiedCount: 2 });
      assert.deepEqual(ids(await c.find({ big: true })), ['a', 'c']);
    });

    it('updateMany is all or nothing when one document fails', async () => {
      const c = await seeded();
      await c.insert({ _id: 'e', kind: 'fruit', qty: 'many' });
      const before = await c.getAll();
      // $inc on a string is an error for 'e' only; 'a' and 'b' must not change either.
      await assert.rejects(c.updateMany({ kind: 'fruit' }, { $inc: { qty: 1 } }), ValidationError);
      assert.deepEqual(await c.getAll(), before);
      await t.reopen();
      assert.deepEqual(await (await t.db.collection('items')).getAll(), before);
    });

    it('replaceOne replaces the document and keeps _id and createdAt', async () => {
      const c = await seeded();
      const old = await c.getById('a');
      assert.deepEqual(await c.replaceOne({ _id: 'a' }, { name: 'apricot', _id: 'x', createdAt: 'never' }), { matchedCount: 1, modifiedCount: 1 });
      const doc = await c.getById('a');
      assert.deepEqual({ ...doc, updatedAt: 0 }, { _id: 'a', name: 'apricot', createdAt: old!.createdAt, updatedAt: 0 });
      assert.deepEqual(await c.replaceOne({ _id: 'nope' }, { name: 'x' }), { matchedCount: 0, modifiedCount: 0 });
      await assert.rejects(c.replaceOne({ _id: 'a' }, { $set: { name: 'x' } }), ValidationError);
    });

    it('updateOne, updateMany and findOneAndUpdate without operators merge the fields, as in WiseJSON', async () => {
      const c = await seeded();
      const a = (await c.getById('a'))!;
      assert.deepEqual(await c.updateOne({ _id: 'a' }, { even: true, _id: 'x' }), { matchedCount: 1, modifiedCount: 1 });
      const merged = (await c.getById('a'))!;
      for (const k of Object.keys(a)) if (k !== 'updatedAt') assert.deepEqual(merged[k], a[k], `${k} kept`);
      assert.equal(merged.even, true);
      const kinds = (await c.find({})).map((d) => d.kind);
      await c.updateMany({}, { checked: 1 });
      assert.deepEqual((await c.find({})).map((d) => [d.kind, d.checked]), kinds.map((k) => [k, 1]));
      const next = await c.findOneAndUpdate({ _id: 'a' }, { note: 'n' });
      assert.deepEqual([next!.note, next!.even, next!.checked], ['n', true, 1]);
    });

    it('removeMany(predicate) removes what the function selects, atomically, and returns the count (WiseJSON)', async () => {
      const c = await seeded();
      assert.equal(await c.removeMany((d) => d.kind === 'veg'), 2);
      assert.deepEqual((await c.find({})).map((d) => d._id).sort(), ['a', 'b']);
      assert.equal(await c.removeMany(() => false), 0);
      await assert.rejects(c.removeMany({ kind: 'fruit' } as unknown as (d: Record<string, unknown>) => boolean), /expects a function/);
      await t.reopen();
      assert.equal(await (await t.db.collection('items')).count(), 2);
    });

    it('rejects a bad update or filter without writing', async () => {
      const c = await seeded();
      const before = await c.getAll();
      await assert.rejects(c.updateOne({ _id: 'a' }, { $set: { qty: 1 }, name: 'x' }), ValidationError);
      await assert.rejects(c.updateMany({}, { $nope: { qty: 1 } }), ValidationError);
      await assert.rejects(c.updateMany({ qty: { $nope: 1 } }, { $set: { qty: 1 } }), ValidationError);
      await assert.rejects(c.updateMany({}, 'x' as unknown as Record<string, unknown>), ValidationError);
      await assert.rejects(c.updateOne({ _id: 'a' }, { $set: { _id: 'z' } }), ValidationError);
      assert.deepEqual(await c.getAll(), before);
    });
  });

  describe('update operators through the collection', () => {
    it('$set/$unset/$inc/$mul/$min/$max/$rename/$currentDate', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'x', a: 1, b: 10, lo: 5, hi: 5, old: 'v', gone: 1, nested: { n: 2 } });
      const doc = await c.findOneAndUpdate({ _id: 'x' }, {
        $set: { 'nested.deep.k': 'v', s: 's' },
        $unset: { gone: '' },
        $inc: { a: 2, fresh: 3 },
        $mul: { b: 1.5, 'nested.n': 10 },
        $min: { lo: 3 },
        $max: { hi: 9 },
        $rename: { old: 'renamed' },
        $currentDate: { touched: true },
      });
      assert.ok(doc);
      assert.equal(doc.a, 3);
      assert.equal(doc.fresh, 3);
      assert.equal(doc.b, 15);
      assert.deepEqual(doc.nested, { n: 20, deep: { k: 'v' } });
      assert.equal(doc.s, 's');
      assert.equal(doc.lo, 3);
      assert.equal(doc.hi, 9);
      assert.equal(doc.renamed, 'v');
      assert.ok(!('old' in doc));
      assert.ok(!('gone' in doc));
      assert.equal(doc.touched, doc.updatedAt);
      assert.deepEqual(await c.getById('x'), doc);
    });

    it('array operators $push/$addToSet/$pull/$pullAll/$pop', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'x', list: [3, 1], set: ['a'], pulls: [1, 2, 3, 4, 5, 6], all: [1, 2, 1, 3], pop: [1, 2, 3], objs: [{ sku: 'A', q: 1 }, { sku: 'B', q: 5 }] });
      await c.update('x', {
        $push: { list: { $each: [5, 4], $sort: 1, $slice: 3 }, created: 'first' },
        $addToSet: { set: { $each: ['a', 'b', 'b'] } },
        $pull: { pulls: { $gte: 5 }, objs: { sku: 'B' } },
        $pullAll: { all: [1, 3] },
        $pop: { pop: -1 },
      });
      const doc = await c.getById('x');
      assert.deepEqual(doc!.list, [1, 3, 4]);
      assert.deepEqual(doc!.created, ['first']);
      assert.deepEqual(doc!.set, ['a', 'b']);
      assert.deepEqual(doc!.pulls, [1, 2, 3, 4]);
      assert.deepEqual(doc!.objs, [{ sku: 'A', q: 1 }]);
      assert.deepEqual(doc!.all, [2]);
      assert.deepEqual(doc!.pop, [2, 3]);
      assert.ok(isDeepFrozen(doc));
      await t.reopen();
      assert.deepEqual(await (await t.db.collection('c')).getById('x'), doc);
    });

    it('the update object can be reused and mutated afterwards', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'x' });
      const value = { list: [1] };
      const upd = { $set: { v: value } };
      await c.updateOne({ _id: 'x' }, upd);
      value.list.push(2);
      assert.deepEqual((await c.getById('x'))!.v, { list: [1] });
    });
  });

  describe('findOneAndUpdate', () => {
    it('resolves with the new document, or the original with returnOriginal', async () => {
      const c = await seeded();
      const next = await c.findOneAndUpdate({ name: 'apple' }, { $inc: { qty: 1 } });
      assert.equal(next!._id, 'a');
      assert.equal(next!.qty, 6);
      assert.ok(isDeepFrozen(next));
      assert.deepEqual(await c.getById('a'), next);
      const orig = await c.findOneAndUpdate({ name: 'apple' }, { $inc: { qty: 1 } }, { returnOriginal: true });
      assert.equal(orig!.qty, 6);
      assert.equal((await c.getById('a'))!.qty, 7);
    });

    it('resolves null when nothing matches', async () => {
      const c = await seeded();
      const before = t.walBytes();
      assert.equal(await c.findOneAndUpdate({ name: 'zucchini' }, { $set: { qty: 1 } }), null);
      assert.equal(t.walBytes(), before);
    });
  });

  describe('deleteOne / deleteMany', () => {
    it('deleteOne removes the first match and reports deletedCount', async () => {
      const c = await seeded();
      assert.deepEqual(await c.deleteOne({ kind: 'veg' }), { deletedCount: 1 });
      assert.equal(await c.count({ kind: 'veg' }), 1);
      assert.deepEqual(await c.deleteOne({ kind: 'none' }), { deletedCount: 0 });
      assert.deepEqual(await c.deleteOne({ _id: 'a' }), { deletedCount: 1 });
      assert.deepEqual(await c.deleteOne({ _id: 'a' }), { deletedCount: 0 });
      assert.equal(await c.count(), 2);
    });

    it('deleteMany removes every match', async () => {
      const c = await seeded();
      assert.deepEqual(await c.deleteMany({ qty: { $lt: 5 } }), { deletedCount: 2 });
      assert.deepEqual(ids(await c.getAll()), ['a', 'c']);
      assert.deepEqual(await c.deleteMany({ qty: { $lt: 5 } }), { deletedCount: 0 });
      assert.deepEqual(await c.deleteMany({}), { deletedCount: 2 });
      assert.equal(await c.count(), 0);
      await t.reopen();
      assert.equal(await (await t.db.collection('items')).count(), 0);
    });

    it('deleteMany rejects a bad filter and removes nothing', async () => {
      const c = await seeded();
      await assert.rejects(c.deleteMany({ qty: { $bad: 1 } }), ValidationError);
      await assert.rejects(c.deleteOne({ $where: 'x' }), ValidationError);
      assert.equal(await c.count(), 4);
    });
  });

  describe('concurrency', () => {
    it('200 concurrent updateOne $inc calls all apply, also after reopen', async () => {
      const c = await t.db.collection('counters');
      await c.insert({ _id: 'n', n: 0 });
      const results = await Promise.all(Array.from({ length: 200 }, () => c.updateOne({ _id: 'n' }, { $inc: { n: 1 } })));
      assert.ok(results.every((r) => r.matchedCount === 1 && r.modifiedCount === 1));
      assert.equal((await c.getById('n'))!.n, 200);
      await t.reopen();
      assert.equal((await (await t.db.collection('counters')).getById('n'))!.n, 200);
    });

    it('concurrent mixed writes on several collections all land', async () => {
      const a = await t.db.collection('a');
      const b = await t.db.collection('b');
      await a.insert({ _id: 'x', n: 0 });
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        ops.push(a.update('x', { $inc: { n: 1 } }));
        ops.push(b.insert({ _id: `b${i}`, i }));
        if (i % 2 === 0) ops.push(b.remove(`b${i}`));
      }
      await Promise.all(ops);
      assert.equal((await a.getById('x'))!.n, 100);
      assert.equal(await b.count(), 50);
      await t.reopen();
      assert.equal((await (await t.db.collection('a')).getById('x'))!.n, 100);
      assert.deepEqual(
        ids(await (await t.db.collection('b')).getAll()),
        Array.from({ length: 50 }, (_, k) => `b${2 * k + 1}`).sort(),
      );
    });
  });
});
