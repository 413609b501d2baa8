/** The database as a whole: empty databases, lifecycle, stats. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, DatabaseClosedError, ValidationError, WiseJSON, WiseJSONError } from '../../../src/engine';
import { useTmpDb } from './tmpdb';

describe('api: database', () => {
  const t = useTmpDb();

  describe('empty database', () => {
    it('opens, closes and reopens with no collections', async () => {
      assert.deepEqual(await t.db.getCollectionNames(), []);
      assert.ok(fs.statSync(t.dir).isDirectory());
      let db = await t.reopen();
      assert.deepEqual(await db.getCollectionNames(), []);
      db = await t.reopen();
      assert.deepEqual(await db.getCollectionNames(), []);
    });

    it('an empty collection counts 0 and finds nothing, also after reopen', async () => {
      const c = await t.db.collection('empty');
      assert.equal(await c.count(), 0);
      assert.equal(await c.count({ a: 1 }), 0);
      assert.deepEqual(await c.getAll(), []);
      assert.deepEqual(await c.find({ a: { $gt: 1 } }), []);
      assert.equal(await c.findOne({}), null);
      assert.deepEqual(await c.deleteMany({}), { deletedCount: 0 });
      assert.deepEqual(await c.updateMany({}, { $set: { a: 1 } }), { matchedCount: 0, modifiedCount: 0 });
      assert.equal(await c.clear(), true);
      const db = await t.reopen();
      assert.deepEqual(await db.getCollectionNames(), ['empty']);
      assert.equal(await (await db.collection('empty')).count(), 0);
    });

    it('a collection emptied by removes stays empty after reopen', async () => {
      const c = await t.db.collection('c');
      const docs = await c.insertMany([{}, {}, {}]);
      for (const d of docs) await c.remove(d._id);
      const db = await t.reopen();
      assert.equal(await (await db.collection('c')).count(), 0);
    });

    it('init is idempotent and connect() opens a database', async () => {
      await t.db.init();
      await t.db.init();
      await t.db.close();
      const db = await connect(t.dir);
      try {
        assert.deepEqual(await db.getCollectionNames(), []);
        await (await db.collection('x')).insert({ _id: '1' });
      } finally {
        await db.close();
      }
      const again = await t.reopen();
      assert.equal(await (await again.collection('x')).count(), 1);
    });

    it('a database never initialised can be closed', async () => {
      const db = new WiseJSON(path.join(t.dir, 'never'));
      await db.close();
      assert.ok(!fs.existsSync(path.join(t.dir, 'never')));
    });
  });

  describe('lifecycle', () => {
    it('close is idempotent and waits for pending writes', async () => {
      const c = await t.db.collection('c');
      const pending = Array.from({ length: 50 }, (_, i) => c.insert({ _id: `p${i}` }));
      const closing = t.db.close();
      await Promise.all(pending);
      await closing;
      await t.db.close();
      const db = await t.reopen();
      assert.equal(await (await db.collection('c')).count(), 50);
    });

    it('a closed database rejects writes and new collections with DatabaseClosedError', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'a' });
      await t.db.close();
      await assert.rejects(c.insert({ _id: 'b' }), DatabaseClosedError);
      await assert.rejects(c.update('a', { v: 1 }), DatabaseClosedError);
      await assert.rejects(c.remove('a'), DatabaseClosedError);
      await assert.rejects(t.db.collection('d'), DatabaseClosedError);
      assert.throws(() => t.db.beginTransaction(), (e: unknown) => e instanceof DatabaseClosedError && e.code === 'DATABASE_CLOSED');
      const db = await t.reopen();
      const c2 = await db.collection('c');
      assert.equal(await c2.count(), 1);
      assert.equal(await c2.getById('b'), null);
    });

    it('rejects bad options and a bad path', async () => {
      assert.throws(() => new WiseJSON(''), WiseJSONError);
      assert.throws(() => new WiseJSON(t.dir, { ttlCleanupIntervalMs: -1 }), ValidationError);
      assert.throws(() => new WiseJSON(t.dir, { idGenerator: 'x' as unknown as () => string }), ValidationError);
      assert.throws(() => new WiseJSON(t.dir, { recoverCorruptLog: 'maybe' as 'throw' }), ValidationError);
    });

    it('an idGenerator returning a bad id makes the insert fail cleanly', async () => {
      const db = await t.reopen({ idGenerator: () => '' });
      const c = await db.collection('c');
      await assert.rejects(c.insert({ v: 1 }), ValidationError);
      await assert.rejects(c.insertMany([{ _id: 'fine' }, { v: 1 }]), ValidationError);
      assert.equal(await c.count(), 0);
    });
  });

  describe('flushToDisk', () => {
    it('writes a checkpoint; the data survives reopen', async () => {
      const c = await t.db.collection('c');
      await c.insertMany([{ _id: 'a' }, { _id: 'b' }]);
      await c.flushToDisk();
      const checkpoints = fs.readdirSync(path.join(t.dir, 'checkpoints')).filter((f) => f.endsWith('.ckpt'));
      assert.ok(checkpoints.length >= 1, 'a checkpoint file exists');
      await c.remove('a');
      await t.db.flushToDisk();
      const db = await t.reopen();
      assert.deepEqual((await (await db.collection('c')).getAll()).map((d) => d._id), ['b']);
    });
  });

  describe('stats', () => {
    it('returns the count and the indexes', async () => {
      const c = await t.db.collection('c');
      await c.createIndex('email', { unique: true });
      await c.createIndex('age');
      await c.insertMany([{ _id: 'a', email: 'a@x', age: 1 }, { _id: 'b', email: 'b@x', age: 2 }, { _id: 'c' }]);
      await c.update('a', { age: 5 });
      await c.remove('c');
      const s = await c.stats();
      assert.equal(s.name, 'c');
      assert.equal(s.count, 2);
      assert.deepEqual(s.indexes, [{ fieldName: 'email', type: 'unique' }, { fieldName: 'age', type: 'standard' }]);
      assert.equal(s.inserts, 3);
      assert.equal(s.updates, 1);
      assert.equal(s.removes, 1);
      assert.equal(s.clears, 0);
    });

    it('does not count writes that failed and were rolled back', async () => {
      const c = await t.db.collection('c');
      await c.insertMany([{ _id: 'a', k: 1, n: 1 }, { _id: 'b', k: 1, n: 'text' }]);
      const before = await c.stats();
      // 'a' is updated in memory first, then 'b' fails: the whole updateMany is rolled back.
      await assert.rejects(c.updateMany({ k: 1 }, { $inc: { n: 1 } }), ValidationError);
      await assert.rejects(c.insertMany([{ _id: 'c' }, { _id: 'a' }]));
      await assert.rejects(c.insert({ _id: 'a' }));
      const after = await c.stats();
      assert.deepEqual(after, before);
      assert.equal(after.updates, 0);
      assert.equal(after.inserts, 2);
    });

    it('of an empty or dropped collection', async () => {
      const c = await t.db.collection('c');
      const s = await c.stats();
      assert.equal(s.count, 0);
      assert.deepEqual(s.indexes, []);
      await c.createIndex('x');
      await c.insert({ x: 1 });
      await t.db.dropCollection('c');
      const after = await c.stats();
      assert.equal(after.count, 0);
      assert.deepEqual(after.indexes, []);
    });

    it('after reopen reflects the stored data', async () => {
      const c = await t.db.collection('c');
      await c.createIndex('k');
      await c.insertMany([{ k: 1 }, { k: 2 }]);
      const s = await (await (await t.reopen()).collection('c')).stats();
      assert.equal(s.count, 2);
      assert.deepEqual(s.indexes, [{ fieldName: 'k', type: 'standard' }]);
    });
  });
});
