/** Indexes: management, unique constraints, persistence, and index-vs-scan equivalence. */
import assert from 'node:assert/strict';
import { Collection, ConfigurationError, IndexConflictError, UniqueConstraintError, ValidationError } from '../../../src/engine';
import { ids, useTmpDb } from './tmpdb';

function isUnique(field: string, value: unknown): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UniqueConstraintError, `expected UniqueConstraintError, got ${String(err)}`);
    assert.equal(err.code, 'UNIQUE_CONSTRAINT');
    assert.equal(err.fieldName, field);
    assert.deepEqual(err.value, value);
    return true;
  };
}

describe('api: indexes', () => {
  const t = useTmpDb();

  describe('createIndex / getIndexes / dropIndex', () => {
    it('creates, lists and drops indexes', async () => {
      const c = await t.db.collection('c');
      assert.deepEqual(await c.getIndexes(), []);
      await c.createIndex('email', { unique: true });
      await c.createIndex('age');
      await c.createIndex('address.city');
      assert.deepEqual(await c.getIndexes(), [
        { fieldName: 'email', type: 'unique' },
        { fieldName: 'age', type: 'standard' },
        { fieldName: 'address.city', type: 'standard' },
      ]);
      assert.equal(await c.dropIndex('age'), true);
      assert.equal(await c.dropIndex('age'), false);
      assert.equal(await c.dropIndex('never'), false);
      assert.deepEqual((await c.getIndexes()).map((i) => i.fieldName), ['email', 'address.city']);
    });

    it('creating the same index twice is a no-op; changing its type throws (as in WiseJSON) until it is dropped', async () => {
      const c = await t.db.collection('c');
      await c.insertMany([{ k: 1 }, { k: 2 }]);
      await c.createIndex('k');
      const before = t.walBytes();
      await c.createIndex('k');
      assert.equal(t.walBytes(), before);
      assert.deepEqual(await c.getIndexes(), [{ fieldName: 'k', type: 'standard' }]);
      await assert.rejects(c.createIndex('k', { unique: true }), (e: unknown) =>
        e instanceof IndexConflictError && e.code === 'INDEX_CONFLICT' && e instanceof ConfigurationError && /Drop it first/.test(e.message));
      assert.equal(t.walBytes(), before, 'nothing written');
      assert.deepEqual(await c.getIndexes(), [{ fieldName: 'k', type: 'standard' }]);
      assert.equal(await c.dropIndex('k'), true);
      await c.createIndex('k', { unique: true });
      assert.deepEqual(await c.getIndexes(), [{ fieldName: 'k', type: 'unique' }]);
      await assert.rejects(c.insert({ k: 1 }), isUnique('k', 1));
      await assert.rejects(c.createIndex('k'), IndexConflictError);
    });

    it('rejects an empty field name', async () => {
      const c = await t.db.collection('c');
      await assert.rejects(c.createIndex(''), ValidationError);
      await assert.rejects(c.createIndex(undefined as unknown as string), ValidationError);
      assert.deepEqual(await c.getIndexes(), []);
    });

    it('indexes survive reopen, and unique ones are still enforced', async () => {
      const c = await t.db.collection('c');
      await c.createIndex('email', { unique: true });
      await c.createIndex('age');
      await c.insertMany([{ _id: 'a', email: 'a@x', age: 1 }, { _id: 'b', email: 'b@x', age: 2 }]);
      await c.createIndex('gone');
      await c.dropIndex('gone');
      const db = await t.reopen();
      const c2 = await db.collection('c');
      assert.deepEqual(await c2.getIndexes(), [{ fieldName: 'email', type: 'unique' }, { fieldName: 'age', type: 'standard' }]);
      // First use after reopen is a write: the lazily built index must still catch the duplicate.
      await assert.rejects(c2.insert({ email: 'b@x' }), isUnique('email', 'b@x'));
      assert.deepEqual(ids(await c2.find({ age: { $gte: 2 } })), ['b']);
      assert.deepEqual(ids(await c2.find({ email: 'a@x' })), ['a']);
      // And after a reopen where the first use is a query.
      const c3 = await (await t.reopen()).collection('c');
      assert.deepEqual(ids(await c3.find({ email: { $in: ['a@x', 'b@x'] } })), ['a', 'b']);
      await assert.rejects(c3.insert({ email: 'a@x' }), isUnique('email', 'a@x'));
    });

    it('an index created on a populated collection answers queries', async () => {
      const c = await t.db.collection('c');
      await c.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: `d${i}`, n: i % 10, s: `s${i % 7}` })));
      await c.createIndex('n');
      await c.createIndex('s');
      assert.equal(await c.count({ n: 3 }), 10);
      assert.equal(await c.count({ n: { $gte: 8 } }), 20);
      assert.equal(await c.count({ s: 's0', n: { $lt: 5 } }), (await c.find((d) => d.s === 's0' && (d.n as number) < 5)).length);
    });
  });

  describe('unique constraints', () => {
    let c: Collection;
    beforeEach(async () => {
      c = await t.db.collection('users');
      await c.createIndex('email', { unique: true });
      await c.insertMany([{ _id: 'u1', email: 'a@x', n: 1 }, { _id: 'u2', email: 'b@x', n: 2 }]);
    });

    async function assertUnchanged(walBefore: number, snapshot: unknown): Promise<void> {
      assert.equal(t.walBytes(), walBefore, 'the log must not grow');
      assert.deepEqual(await c.getAll(), snapshot);
      const c2 = await (await t.reopen()).collection('users');
      assert.deepEqual(await c2.getAll(), snapshot, 'after reopen');
      assert.equal(await c2.count(), 2);
    }

    it('insert of a duplicate value fails and writes nothing', async () => {
      const snap = await c.getAll();
      const wal = t.walBytes();
      await assert.rejects(c.insert({ _id: 'u3', email: 'a@x' }), isUnique('email', 'a@x'));
      await assertUnchanged(wal, snap);
    });

    it('insertMany with a duplicate in the middle fails and writes nothing', async () => {
      const snap = await c.getAll();
      const wal = t.walBytes();
      await assert.rejects(c.insertMany([{ email: 'c@x' }, { email: 'b@x' }, { email: 'd@x' }]), isUnique('email', 'b@x'));
      await assert.rejects(c.insertMany([{ email: 'e@x' }, { email: 'e@x' }]), isUnique('email', 'e@x'));
      await assertUnchanged(wal, snap);
    });

    it('update, updateOne, updateMany and findOneAndUpdate into a duplicate fail and write nothing', async () => {
      const snap = await c.getAll();
      const wal = t.walBytes();
      await assert.rejects(c.update('u2', { email: 'a@x' }), isUnique('email', 'a@x'));
      await assert.rejects(c.update('u2', { $set: { email: 'a@x' } }), isUnique('email', 'a@x'));
      await assert.rejects(c.updateOne({ _id: 'u2' }, { $set: { email: 'a@x' } }), isUnique('email', 'a@x'));
      await assert.rejects(c.updateMany({}, { $set: { email: 'same@x' } }), isUnique('email', 'same@x'));
      await assert.rejects(c.findOneAndUpdate({ _id: 'u1' }, { $set: { email: 'b@x' } }), isUnique('email', 'b@x'));
      await assertUnchanged(wal, snap);
    });

    it('of many concurrent inserts of one value exactly one succeeds', async () => {
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.insert({ _id: `c${i}`, email: 'race@x' })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof UniqueConstraintError);
      assert.equal(await c.count({ email: 'race@x' }), 1);
      const c2 = await (await t.reopen()).collection('users');
      assert.equal(await c2.count({ email: 'race@x' }), 1);
      assert.equal(await c2.count(), 3);
    });

    it('a document may keep its own value, and a freed value can be reused', async () => {
      await c.update('u1', { email: 'a@x', n: 10 });
      assert.equal((await c.getById('u1'))!.n, 10);
      await c.update('u1', { email: 'z@x' });
      await c.insert({ _id: 'u3', email: 'a@x' });
      await c.remove('u2');
      await c.insert({ _id: 'u4', email: 'b@x' });
      assert.deepEqual(ids(await c.find({ email: { $in: ['a@x', 'b@x', 'z@x'] } })), ['u1', 'u3', 'u4']);
      // Swapping values inside one updateMany-free sequence still checks each step.
      await assert.rejects(c.update('u3', { email: 'b@x' }), isUnique('email', 'b@x'));
    });

    it('documents without the field (or with null) do not collide', async () => {
      await c.insertMany([{ _id: 'm1' }, { _id: 'm2' }, { _id: 'n1', email: null }, { _id: 'n2', email: null }]);
      assert.equal(await c.count(), 6);
      assert.deepEqual(ids(await c.find({ email: null })), ['m1', 'm2', 'n1', 'n2']);
    });

    it('values are compared by type: 1 and "1" do not collide', async () => {
      const k = await t.db.collection('k');
      await k.createIndex('v', { unique: true });
      await k.insertMany([{ v: 1 }, { v: '1' }, { v: true }]);
      await assert.rejects(k.insert({ v: 1 }), isUnique('v', 1));
      await assert.rejects(k.insert({ v: true }), isUnique('v', true));
      assert.equal(await k.count(), 3);
    });

    it('unique dot-path and array-valued fields', async () => {
      const k = await t.db.collection('k');
      await k.createIndex('profile.handle', { unique: true });
      await k.createIndex('tags', { unique: true });
      await k.insert({ _id: 'a', profile: { handle: 'ada' }, tags: ['x', 'y'] });
      await assert.rejects(k.insert({ profile: { handle: 'ada' } }), isUnique('profile.handle', 'ada'));
      await assert.rejects(k.insert({ tags: ['z', 'y'] }), isUnique('tags', 'y'));
      await assert.rejects(k.insert({ tags: 'x' }), isUnique('tags', 'x'));
      // The document's own repeated element is not a collision with itself.
      await k.insert({ _id: 'b', tags: ['q', 'q'] });
      assert.deepEqual(ids(await k.getAll()), ['a', 'b']);
    });

    it('creating a unique index over existing duplicates fails and leaves no index', async () => {
      const k = await t.db.collection('k');
      await k.insertMany([{ _id: '1', v: 'dup' }, { _id: '2', v: 'other' }, { _id: '3', v: 'dup' }]);
      const wal = t.walBytes();
      await assert.rejects(k.createIndex('v', { unique: true }), isUnique('v', 'dup'));
      assert.equal(t.walBytes(), wal);
      assert.deepEqual(await k.getIndexes(), []);
      await k.insert({ _id: '4', v: 'dup' });
      // A standard index on the field stays standard: changing its type needs a drop first.
      await k.createIndex('v');
      await assert.rejects(k.createIndex('v', { unique: true }), IndexConflictError);
      assert.deepEqual(await k.getIndexes(), [{ fieldName: 'v', type: 'standard' }]);
      assert.deepEqual(ids(await k.find({ v: 'dup' })), ['1', '3', '4']);
      const k2 = await (await t.reopen()).collection('k');
      assert.deepEqual(await k2.getIndexes(), [{ fieldName: 'v', type: 'standard' }]);
      assert.equal(await k2.count(), 4);
    });

    it('after dropIndex the constraint is gone, also after reopen', async () => {
      assert.equal(await c.dropIndex('email'), true);
      await c.insert({ _id: 'u3', email: 'a@x' });
      const c2 = await (await t.reopen()).collection('users');
      assert.deepEqual(await c2.getIndexes(), []);
      await c2.insert({ _id: 'u4', email: 'a@x' });
      assert.deepEqual(ids(await c2.find({ email: 'a@x' })), ['u1', 'u3', 'u4']);
    });
  });

  describe('index answers equal scan answers', () => {
    it('a two-sided range on a dot path through an array of objects (each element may meet one side)', async () => {
      const plain = await t.db.collection('plain');
      const indexed = await t.db.collection('indexed');
      await indexed.createIndex('items.qty');
      const docs = [
        { _id: 'split', items: [{ qty: 1 }, { qty: 20 }] }, // 20 > 5 and 1 < 10: matches, as in MongoDB
        { _id: 'inside', items: [{ qty: 7 }] },
        { _id: 'outside', items: [{ qty: 30 }, { qty: 40 }] },
        { _id: 'scalar', items: { qty: 2 } },
      ];
      await plain.insertMany(docs);
      await indexed.insertMany(docs);
      const query = { 'items.qty': { $gt: 5, $lt: 10 } };
      assert.deepEqual(ids(await plain.find(query)), ['inside', 'split']);
      assert.deepEqual(ids(await indexed.find(query)), ['inside', 'split']);
      assert.equal(await indexed.count(query), 2);
      const elem = { items: { $elemMatch: { qty: { $gt: 5, $lt: 10 } } } };
      assert.deepEqual(ids(await indexed.find(elem)), ['inside']);
    });

    it('Date bounds and values compare as ISO strings, with and without an index', async () => {
      const plain = await t.db.collection('plain');
      const indexed = await t.db.collection('indexed');
      await indexed.createIndex('when');
      const days = ['2024-01-01', '2024-02-01', '2024-03-01', '2024-04-01'];
      const docs = days.map((d, i) => ({ _id: `d${i}`, when: new Date(`${d}T00:00:00.000Z`) }));
      await plain.insertMany(docs);
      await indexed.insertMany(docs);
      const queries = [
        { when: new Date('2024-02-01T00:00:00.000Z') },
        { when: { $gte: new Date('2024-02-01T00:00:00.000Z'), $lt: new Date('2024-04-01T00:00:00.000Z') } },
        { when: { $in: [new Date('2024-01-01T00:00:00.000Z'), '2024-04-01T00:00:00.000Z'] } },
        { when: { $gt: '2024-03' } },
      ];
      const expected = [['d1'], ['d1', 'd2'], ['d0', 'd3'], ['d2', 'd3']];
      for (let i = 0; i < queries.length; i++) {
        assert.deepEqual(ids(await plain.find(queries[i])), expected[i], `scan ${i}`);
        assert.deepEqual(ids(await indexed.find(queries[i])), expected[i], `index ${i}`);
      }
    });

    it('a two-sided range on an array field', async () => {
      const plain = await t.db.collection('plain');
      const indexed = await t.db.collection('indexed');
      await indexed.createIndex('scores');
      const docs = [{ _id: 'split', scores: [1, 20] }, { _id: 'inside', scores: 7 }, { _id: 'outside', scores: [30] }];
      await plain.insertMany(docs);
      await indexed.insertMany(docs);
      const query = { scores: { $gte: 5, $lte: 10 } };
      assert.deepEqual(ids(await plain.find(query)), ['inside', 'split']);
      assert.deepEqual(ids(await indexed.find(query)), ['inside', 'split']);
      // Removing the only array-valued document keeps the index exact.
      await indexed.remove('split');
      await plain.remove('split');
      await indexed.insert({ _id: 'again', scores: [2, 50] });
      await plain.insert({ _id: 'again', scores: [2, 50] });
      assert.deepEqual(ids(await indexed.find(query)), ids(await plain.find(query)));
    });

    // Deterministic pseudo-random numbers (mulberry32).
    function rng(seed: number): () => number {
      let a = seed >>> 0;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let x = a;
        x = Math.imul(x ^ (x >>> 15), x | 1);
        x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
        return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
      };
    }

    const NUMBERS = [-5, -1, 0, 1, 2, 2.5, 3, 10, 42, 100];
    const STRINGS = ['', 'a', 'A', 'b', 'ba', 'z', '10', '2', 'apple', 'ß'];
    const PRIMITIVES: unknown[] = [...NUMBERS, ...STRINGS, true, false];
    // 'p.q' only ever holds scalars, reached through an array of objects: several values per
    // document without any array value at the path itself.
    const FIELDS = ['v', 'o.v', 'arr.v', 'w', 'p.q'];

    function makeValue(r: () => number): unknown {
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
      const k = r();
      if (k < 0.35) return pick(NUMBERS);
      if (k < 0.6) return pick(STRINGS);
      if (k < 0.65) return r() < 0.5;
      if (k < 0.7) return null;
      if (k < 0.9) return Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.8 ? pick(PRIMITIVES) : [pick(NUMBERS)]));
      return { x: pick(NUMBERS) };
    }

    function makeDoc(r: () => number, id: string): Record<string, unknown> {
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
      const doc: Record<string, unknown> = { _id: id };
      if (r() < 0.9) doc.v = makeValue(r);
      const o = r();
      if (o < 0.5) doc.o = { v: makeValue(r) };
      else if (o < 0.7) doc.o = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({ v: makeValue(r) }));
      else if (o < 0.8) doc.o = 'scalar';
      if (r() < 0.8) doc.arr = Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.85 ? { v: makeValue(r) } : makeValue(r)));
      if (r() < 0.7) doc.w = Math.floor(r() * 20);
      const scalar = (): unknown => (r() < 0.6 ? pick(NUMBERS) : pick(STRINGS));
      if (r() < 0.8) doc.p = r() < 0.7 ? Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({ q: scalar() })) : { q: scalar() };
      return doc;
    }

    function makeQueries(r: () => number): Record<string, unknown>[] {
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
      const bound = (): unknown => (r() < 0.55 ? pick(NUMBERS) : pick(STRINGS));
      const out: Record<string, unknown>[] = [];
      for (const f of FIELDS) {
        for (const p of PRIMITIVES) {
          out.push({ [f]: p });
          out.push({ [f]: { $eq: p } });
        }
        for (let i = 0; i < 12; i++) {
          out.push({ [f]: { $in: Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(PRIMITIVES)) } });
        }
        for (const op of ['$gt', '$gte', '$lt', '$lte']) {
          for (let i = 0; i < 5; i++) out.push({ [f]: { [op]: bound() } });
        }
        for (let i = 0; i < 15; i++) {
          const lo = bound();
          const hi = r() < 0.8 ? (typeof lo === 'number' ? pick(NUMBERS) : pick(STRINGS)) : bound();
          out.push({ [f]: { [r() < 0.5 ? '$gt' : '$gte']: lo, [r() < 0.5 ? '$lt' : '$lte']: hi } });
        }
        out.push({ $and: [{ [f]: { $gte: 0 } }, { [f]: { $lte: 3 } }] });
        out.push({ [f]: { $gte: 1, $in: [1, 2, 'a'] } });
        out.push({ [f]: { $ne: 1 } }, { [f]: { $nin: [1, 'a'] } }, { [f]: { $exists: true } }, { [f]: null });
        out.push({ [f]: [1, 'a'] }, { [f]: { x: 1 } });
      }
      for (let i = 0; i < 40; i++) {
        const f1 = pick(FIELDS);
        const f2 = pick(FIELDS);
        out.push({ [f1]: pick(PRIMITIVES), [f2]: { $gte: bound() } });
        out.push({ $and: [{ [f1]: { $in: [pick(PRIMITIVES), pick(PRIMITIVES)] } }, { [f2]: { $lt: bound() } }] });
        out.push({ [f1]: pick(PRIMITIVES), $or: [{ [f2]: pick(PRIMITIVES) }, { [f2]: { $gt: bound() } }] });
      }
      return out;
    }

    async function compare(indexed: Collection, plain: Collection, queries: Record<string, unknown>[], stage: string): Promise<void> {
      assert.deepEqual(ids(await indexed.getAll()), ids(await plain.getAll()), `${stage}: same documents`);
      let nonEmpty = 0;
      for (const query of queries) {
        const expected = ids(await plain.find(query));
        if (expected.length > 0) nonEmpty++;
        const got = ids(await indexed.find(query));
        assert.deepEqual(got, expected, `${stage}: find(${JSON.stringify(query)})`);
        assert.equal(await indexed.count(query), expected.length, `${stage}: count(${JSON.stringify(query)})`);
      }
      assert.ok(nonEmpty > queries.length / 3, `${stage}: the queries must not be vacuous (${nonEmpty} of ${queries.length} match something)`);
    }

    it('equality, $in and range queries return the same documents with and without indexes, across updates, removes and reopen', async function () {
      this.timeout(30_000);
      const r = rng(20240601);
      let indexed = await t.db.collection('indexed');
      let plain = await t.db.collection('plain');
      // Half the indexes exist before the data, half are built over it.
      await indexed.createIndex('v');
      await indexed.createIndex('arr.v');
      const docs = Array.from({ length: 300 }, (_, i) => makeDoc(r, `d${i}`));
      await indexed.insertMany(docs);
      await plain.insertMany(docs);
      await indexed.createIndex('o.v');
      await indexed.createIndex('w');
      await indexed.createIndex('p.q');
      const queries = makeQueries(r);
      await compare(indexed, plain, queries, 'after insert');

      const mutate = async (round: number): Promise<void> => {
        for (let i = 0; i < 120; i++) {
          const id = `d${Math.floor(r() * 320)}`;
          const k = r();
          if (k < 0.45) {
            // Replace the indexed fields (a field absent from the new doc is removed).
            const next = makeDoc(r, id);
            delete next._id;
            for (const f of ['v', 'o', 'arr', 'w', 'p']) if (!(f in next)) next[f] = undefined;
            const a = await indexed.update(id, next);
            const b = await plain.update(id, next);
            assert.equal(a === null, b === null);
          } else if (k < 0.6) {
            assert.equal(await indexed.remove(id), await plain.remove(id));
          } else if (k < 0.75) {
            const filter = { w: Math.floor(r() * 20) };
            const u = { $set: { v: makeValue(r) } };
            assert.deepEqual(await indexed.updateMany(filter, u), await plain.updateMany(filter, u));
          } else if (k < 0.8) {
            const filter = { w: { $gte: Math.floor(r() * 20), $lt: Math.floor(r() * 20) } };
            assert.deepEqual(await indexed.deleteMany(filter), await plain.deleteMany(filter));
          } else if (k < 0.9) {
            const u = { $push: { arr: { v: makeValue(r) } } };
            const a = await indexed.update(id, u).catch((e: Error) => e.name);
            const b = await plain.update(id, u).catch((e: Error) => e.name);
            assert.equal(typeof a === 'string' ? a : a === null, typeof b === 'string' ? b : b === null);
          } else {
            const doc = makeDoc(r, `n${round}-${i}`);
            await indexed.insert(doc);
            await plain.insert(doc);
          }
        }
      };

      await mutate(1);
      await compare(indexed, plain, queries, 'after updates and removes');

      // Reopen: indexes are rebuilt lazily; write first, then query.
      let db = await t.reopen();
      indexed = await db.collection('indexed');
      plain = await db.collection('plain');
      await mutate(2);
      await compare(indexed, plain, queries, 'after reopen + writes');

      // Reopen again: query first (index built from the loaded documents).
      db = await t.reopen();
      indexed = await db.collection('indexed');
      plain = await db.collection('plain');
      await compare(indexed, plain, queries, 'after reopen');

      // Clearing and refilling keeps the indexes exact.
      await indexed.clear();
      await plain.clear();
      const more = Array.from({ length: 100 }, (_, i) => makeDoc(r, `m${i}`));
      await indexed.insertMany(more);
      await plain.insertMany(more);
      await compare(indexed, plain, queries, 'after clear + refill');
    });
  });
});
