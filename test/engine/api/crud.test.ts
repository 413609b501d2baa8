import assert from 'node:assert/strict';
import { UniqueConstraintError, ValidationError, WiseJSON } from '../../../src/engine';
import { ids, isDeepFrozen, sleep, useTmpDb } from './tmpdb';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('api: CRUD', () => {
  const t = useTmpDb();

  describe('insert', () => {
    it('generates a string _id and sets createdAt/updatedAt', async () => {
      const users = await t.db.collection('users');
      const doc = await users.insert({ name: 'Ada', age: 36 });
      assert.equal(typeof doc._id, 'string');
      assert.ok(doc._id.length > 0);
      assert.match(doc.createdAt!, ISO);
      assert.match(doc.updatedAt!, ISO);
      assert.equal(doc.createdAt, doc.updatedAt);
      assert.equal(doc.name, 'Ada');
      assert.equal(doc.age, 36);
      const other = await users.insert({ name: 'Bob' });
      assert.notEqual(other._id, doc._id);
    });

    it('keeps a given _id', async () => {
      const users = await t.db.collection('users');
      const doc = await users.insert({ _id: 'user-1', name: 'Ada' });
      assert.equal(doc._id, 'user-1');
      assert.deepEqual(await users.getById('user-1'), doc);
    });

    it('uses the idGenerator option', async () => {
      let n = 0;
      const db = await t.reopen({ idGenerator: () => `gen-${++n}` });
      const c = await db.collection('c');
      assert.equal((await c.insert({}))._id, 'gen-1');
      assert.deepEqual((await c.insertMany([{}, {}])).map((d) => d._id), ['gen-2', 'gen-3']);
    });

    it('returns a deep-frozen document equal to getById', async () => {
      const users = await t.db.collection('users');
      const doc = await users.insert({ name: 'Ada', address: { city: 'London', geo: { lat: 51.5 } }, tags: ['x', { y: [1] }] });
      assert.ok(isDeepFrozen(doc));
      const got = await users.getById(doc._id);
      assert.deepEqual(got, doc);
      assert.ok(isDeepFrozen(got));
      assert.throws(() => {
        (doc as Record<string, unknown>).name = 'Eve';
      }, TypeError);
      assert.throws(() => {
        ((doc.address as Record<string, unknown>).geo as Record<string, unknown>).lat = 0;
      }, TypeError);
      assert.throws(() => (doc.tags as unknown[]).push('z'), TypeError);
      assert.equal((await users.getById(doc._id))!.name, 'Ada');
    });

    it('does not keep a reference to the caller’s object', async () => {
      const users = await t.db.collection('users');
      const input = { _id: 'a', name: 'Ada', nested: { list: [1, 2] } };
      await users.insert(input);
      input.name = 'Eve';
      input.nested.list.push(3);
      const got = await users.getById('a');
      assert.equal(got!.name, 'Ada');
      assert.deepEqual(got!.nested, { list: [1, 2] });
      assert.ok(!Object.isFrozen(input), 'the caller’s object must not be frozen');
    });

    it('stores what JSON would store (Date → ISO string, undefined dropped)', async () => {
      const c = await t.db.collection('c');
      const when = new Date('2024-01-02T03:04:05.678Z');
      const doc = await c.insert({ _id: 'd', when, gone: undefined, list: [1, undefined] });
      assert.equal(doc.when, '2024-01-02T03:04:05.678Z');
      assert.ok(!('gone' in doc));
      assert.deepEqual(doc.list, [1, null]);
      await t.reopen();
      const again = await (await t.db.collection('c')).getById('d');
      assert.deepEqual(again, doc);
    });

    it('unusual _id values work and survive reopen', async () => {
      const c = await t.db.collection('c');
      const weird = ['he said "hi"', 'back\\slash', 'new\nline', '🎉 ünï', ' spaced ', '__proto__', 'constructor', 'toString', '{"_id":"x"}', 'x'.repeat(512)];
      for (const id of weird) await c.insert({ _id: id, v: id });
      const check = async (coll: typeof c): Promise<void> => {
        for (const id of weird) assert.equal((await coll.getById(id))?.v, id, JSON.stringify(id));
        assert.equal(await coll.count(), weird.length);
        assert.equal(await coll.getById('x'), null);
      };
      await check(c);
      await check(await (await t.reopen()).collection('c'));
      await assert.rejects(c.insert({ _id: 'x'.repeat(513) }), ValidationError);
    });

    it('a document read from one collection can be inserted into another', async () => {
      const a = await t.db.collection('a');
      const b = await t.db.collection('b');
      const doc = await a.insert({ _id: 'x', nested: { list: [1, { y: 2 }] } });
      const copy = await b.insert(doc);
      assert.equal(copy._id, 'x');
      assert.deepEqual(copy.nested, doc.nested);
      assert.equal(copy.createdAt, doc.createdAt, 'a given createdAt is kept');
      await b.update('x', { $push: { 'nested.list': 3 } });
      assert.deepEqual((await a.getById('x'))!.nested, { list: [1, { y: 2 }] });
    });

    it('a field named "__proto__" is kept as a plain field (or refused), never silently dropped', async () => {
      const c = await t.db.collection('c');
      const input = JSON.parse('{"_id":"p","__proto__":{"x":1},"a":1}') as Record<string, unknown>;
      let stored = true;
      try {
        await c.insert(input);
      } catch (err) {
        assert.ok(err instanceof ValidationError, `only a ValidationError is acceptable, got ${String(err)}`);
        stored = false;
      }
      assert.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype is untouched');
      if (stored) {
        const doc = (await c.getById('p'))!;
        assert.ok(Object.prototype.hasOwnProperty.call(doc, '__proto__'), 'the field is kept');
        assert.deepEqual(Object.getOwnPropertyDescriptor(doc, '__proto__')?.value, { x: 1 });
        const again = (await (await t.reopen()).collection('c')).getById('p');
        assert.ok(Object.prototype.hasOwnProperty.call(await again, '__proto__'), 'kept after reopen');
      } else {
        assert.equal(await c.count(), 0);
      }
    });

    it('rejects a duplicate _id with UniqueConstraintError and writes nothing', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'x', v: 1 });
      const before = t.walBytes();
      await assert.rejects(c.insert({ _id: 'x', v: 2 }), (err: unknown) => {
        assert.ok(err instanceof UniqueConstraintError);
        assert.equal(err.code, 'UNIQUE_CONSTRAINT');
        assert.equal(err.fieldName, '_id');
        assert.equal(err.value, 'x');
        return true;
      });
      assert.equal(t.walBytes(), before);
      assert.equal((await c.getById('x'))!.v, 1);
      assert.equal(await c.count(), 1);
    });

    it('rejects non-objects and bad _id values with ValidationError', async () => {
      const c = await t.db.collection('c');
      for (const bad of [null, 42, 'str', [1, 2], new Date()]) {
        await assert.rejects(c.insert(bad as unknown as Record<string, unknown>), ValidationError, `insert(${String(bad)})`);
      }
      for (const badId of [1, '', null, {}]) {
        await assert.rejects(c.insert({ _id: badId }), ValidationError, `_id ${JSON.stringify(badId)}`);
      }
      assert.equal(await c.count(), 0);
    });
  });

  describe('insertMany', () => {
    it('inserts all documents and returns them in order', async () => {
      const c = await t.db.collection('c');
      const docs = await c.insertMany([{ _id: 'a', n: 1 }, { n: 2 }, { _id: 'c', n: 3 }]);
      assert.equal(docs.length, 3);
      assert.deepEqual(docs.map((d) => d.n), [1, 2, 3]);
      assert.equal(docs[0]._id, 'a');
      assert.equal(docs[2]._id, 'c');
      for (const d of docs) {
        assert.ok(isDeepFrozen(d));
        assert.deepEqual(await c.getById(d._id), d);
      }
      assert.equal(await c.count(), 3);
      assert.deepEqual(await c.insertMany([]), []);
    });

    it('inserts none when an _id in the middle already exists', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'taken' });
      const before = t.walBytes();
      await assert.rejects(c.insertMany([{ _id: 'n1' }, { _id: 'taken' }, { _id: 'n3' }]), UniqueConstraintError);
      assert.equal(t.walBytes(), before);
      assert.equal(await c.count(), 1);
      assert.equal(await c.getById('n1'), null);
      assert.equal(await c.getById('n3'), null);
      await t.reopen();
      const again = await t.db.collection('c');
      assert.deepEqual(ids(await again.getAll()), ['taken']);
    });

    it('inserts none when the batch repeats an _id', async () => {
      const c = await t.db.collection('c');
      await assert.rejects(c.insertMany([{ _id: 'a' }, { _id: 'b' }, { _id: 'a' }]), (err: unknown) => {
        assert.ok(err instanceof UniqueConstraintError);
        assert.equal(err.fieldName, '_id');
        assert.equal(err.value, 'a');
        return true;
      });
      assert.equal(await c.count(), 0);
    });

    it('inserts none when a document in the middle violates a unique index', async () => {
      const c = await t.db.collection('c');
      await c.createIndex('email', { unique: true });
      await c.insert({ _id: 'u0', email: 'a@x' });
      await assert.rejects(c.insertMany([{ _id: 'u1', email: 'b@x' }, { _id: 'u2', email: 'a@x' }, { _id: 'u3', email: 'c@x' }]), UniqueConstraintError);
      assert.deepEqual(ids(await c.getAll()), ['u0']);
      // The index holds nothing of the failed batch: b@x is still free.
      await c.insert({ _id: 'u4', email: 'b@x' });
      assert.deepEqual(ids(await c.find({ email: 'b@x' })), ['u4']);
    });

    it('inserts none when a document in the middle is not an object', async () => {
      const c = await t.db.collection('c');
      await assert.rejects(c.insertMany([{ a: 1 }, 5 as unknown as Record<string, unknown>, { a: 3 }]), ValidationError);
      await assert.rejects(c.insertMany('nope' as unknown as Record<string, unknown>[]), ValidationError);
      assert.equal(await c.count(), 0);
    });
  });

  describe('update(id, patch)', () => {
    it('merges top-level fields and refreshes updatedAt only', async () => {
      const c = await t.db.collection('c');
      const old = await c.insert({ _id: 'a', name: 'Ada', address: { city: 'London', zip: 'N1' }, keep: true });
      await sleep(5);
      const doc = await c.update('a', { address: { city: 'Paris' }, age: 36 });
      assert.ok(doc);
      assert.deepEqual(
        { ...doc, createdAt: 0, updatedAt: 0 },
        { _id: 'a', name: 'Ada', address: { city: 'Paris' }, keep: true, age: 36, createdAt: 0, updatedAt: 0 },
      );
      assert.equal(doc.createdAt, old.createdAt);
      assert.ok(doc.updatedAt! > old.updatedAt!, 'updatedAt moves forward');
      assert.ok(isDeepFrozen(doc));
      assert.deepEqual(await c.getById('a'), doc);
      // The old version handed out earlier is unchanged.
      assert.deepEqual(old.address, { city: 'London', zip: 'N1' });
    });

    it('removes a field set to undefined', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'a', x: 1, y: 2 });
      const doc = await c.update('a', { x: undefined });
      assert.ok(!('x' in doc!));
      assert.equal(doc!.y, 2);
    });

    it('applies update operators such as $inc and $set', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'a', n: 1, nested: { m: 5 } });
      const doc = await c.update('a', { $inc: { n: 2, 'nested.m': -1 }, $set: { tag: 'x' } });
      assert.equal(doc!.n, 3);
      assert.deepEqual(doc!.nested, { m: 4 });
      assert.equal(doc!.tag, 'x');
    });

    it('never changes _id or createdAt', async () => {
      const c = await t.db.collection('c');
      const old = await c.insert({ _id: 'a', v: 1 });
      const doc = await c.update('a', { _id: 'b', createdAt: '1999-01-01T00:00:00.000Z', v: 2 });
      assert.equal(doc!._id, 'a');
      assert.equal(doc!.createdAt, old.createdAt);
      assert.equal(doc!.v, 2);
      assert.equal(await c.getById('b'), null);
      await assert.rejects(c.update('a', { $set: { _id: 'b' } }), ValidationError);
      await assert.rejects(c.update('a', { $set: { createdAt: 'x' } }), ValidationError);
      assert.equal((await c.getById('a'))!.v, 2);
      assert.equal(await c.count(), 1);
    });

    it('resolves null for a missing id and writes nothing', async () => {
      const c = await t.db.collection('c');
      const before = t.walBytes();
      assert.equal(await c.update('nope', { v: 1 }), null);
      assert.equal(t.walBytes(), before);
      assert.equal(await c.count(), 0);
    });

    it('rejects a patch that is not an object or mixes operators and fields', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'a', v: 1 });
      await assert.rejects(c.update('a', null as unknown as Record<string, unknown>), ValidationError);
      await assert.rejects(c.update('a', { $set: { v: 2 }, w: 3 }), ValidationError);
      await assert.rejects(c.update('a', { $bogus: { v: 2 } }), ValidationError);
      assert.equal((await c.getById('a'))!.v, 1);
    });
  });

  describe('remove, clear, reads', () => {
    it('remove resolves true once, then false', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'a' });
      await c.insert({ _id: 'b' });
      assert.equal(await c.remove('a'), true);
      assert.equal(await c.remove('a'), false);
      assert.equal(await c.remove('never'), false);
      assert.equal(await c.getById('a'), null);
      assert.deepEqual(ids(await c.getAll()), ['b']);
    });

    it('clear removes every document and keeps the indexes', async () => {
      const c = await t.db.collection('c');
      await c.createIndex('k', { unique: true });
      await c.insertMany([{ k: 1 }, { k: 2 }, { k: 3 }]);
      assert.equal(await c.clear(), true);
      assert.equal(await c.count(), 0);
      assert.deepEqual(await c.getAll(), []);
      assert.deepEqual(await c.getIndexes(), [{ fieldName: 'k', type: 'unique' }]);
      // Values of the cleared documents are free again, the index still works.
      await c.insert({ _id: 'n', k: 1 });
      await assert.rejects(c.insert({ k: 1 }), UniqueConstraintError);
      await t.reopen();
      const again = await t.db.collection('c');
      assert.deepEqual(ids(await again.getAll()), ['n']);
    });

    it('getById resolves null for a missing id, in a missing collection too', async () => {
      const c = await t.db.collection('c');
      assert.equal(await c.getById('nope'), null);
      await t.db.dropCollection('c');
      assert.equal(await c.getById('nope'), null);
      assert.equal(await c.count(), 0);
      assert.deepEqual(await c.getAll(), []);
    });

    it('getAll returns every document in insertion order', async () => {
      const c = await t.db.collection('c');
      const names = ['d', 'b', 'a', 'c', 'e'];
      for (const n of names) await c.insert({ _id: n });
      assert.deepEqual((await c.getAll()).map((d) => d._id), names);
    });

    it('count counts all documents or those matching a query', async () => {
      const c = await t.db.collection('c');
      await c.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { m: 1 }]);
      assert.equal(await c.count(), 5);
      assert.equal(await c.count({}), 5);
      assert.equal(await c.count({ n: { $gte: 2 } }), 3);
      assert.equal(await c.count({ n: { $exists: false } }), 1);
      assert.equal(await c.count((d) => typeof d.n === 'number' && d.n % 2 === 0), 2);
      assert.equal(await c.count({ n: 99 }), 0);
    });

    it('a mutated structuredClone of a read never changes the database', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'a', n: 1, deep: { list: [{ v: 1 }] } });
      const copy = structuredClone(await c.getById('a'))!;
      copy.n = 99;
      (copy.deep as { list: { v: number }[] }).list[0].v = 99;
      (copy.deep as { list: unknown[] }).list.push('x');
      delete (copy as Record<string, unknown>).createdAt;
      const [fromFind] = await c.find({ _id: 'a' });
      const clone2 = structuredClone(fromFind);
      clone2.extra = true;
      const stored = await c.getById('a');
      assert.equal(stored!.n, 1);
      assert.deepEqual(stored!.deep, { list: [{ v: 1 }] });
      assert.ok(typeof stored!.createdAt === 'string');
      assert.ok(!('extra' in stored!));
      assert.equal(await c.count({ n: 99 }), 0);
    });

    it('everything is still there after close and reopen', async () => {
      const c = await t.db.collection('c');
      await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `d${String(i).padStart(2, '0')}`, i, sq: i * i, tags: [i % 3] })));
      await c.update('d01', { i: 100 });
      await c.update('d02', { $inc: { sq: 1 } });
      await c.remove('d03');
      const other = await t.db.collection('other');
      await other.insert({ _id: 'o', v: 'x' });
      const before = await c.getAll();
      const otherBefore = await other.getAll();

      const db2 = await t.reopen();
      const c2 = await db2.collection('c');
      assert.deepEqual(await c2.getAll(), before);
      assert.deepEqual(await (await db2.collection('other')).getAll(), otherBefore);
      assert.equal(await c2.count(), 49);
      assert.equal((await c2.getById('d01'))!.i, 100);
      assert.equal((await c2.getById('d02'))!.sq, 5);
      assert.equal(await c2.getById('d03'), null);
      assert.deepEqual(await db2.getCollectionNames(), ['c', 'other']);

      // And after a second reopen without new writes (now loaded from the checkpoint only).
      const db3 = await t.reopen();
      assert.deepEqual(await (await db3.collection('c')).getAll(), before);
    });

    it('a fresh instance reads writes that were never checkpointed (log replay)', async () => {
      // Writes stay in the log only (no checkpoint by size or time); a second instance on the same
      // folder must replay them, before and after the first one closes.
      const db = await t.reopen({ checkpointIntervalMs: 0 });
      const c = await db.collection('c');
      await c.insertMany([{ _id: 'a', v: 1 }, { _id: 'b', v: 2 }]);
      await c.update('a', { v: 10 });
      await c.remove('b');
      const second = new WiseJSON(t.dir);
      try {
        await second.init();
        const c2 = await second.collection('c');
        assert.deepEqual(await c2.getAll(), await c.getAll());
      } finally {
        await second.close();
      }
    });
  });
});
