/** Queries through a collection: find / findOne / count with filters, sort, skip, limit, projection. */
import assert from 'node:assert/strict';
import { Collection, Doc, ValidationError } from '../../../src/engine';
import { ids, isDeepFrozen, useTmpDb } from './tmpdb';

const PEOPLE = [
  { _id: 'a', name: 'Ann', age: 30, tags: ['x', 'y'], address: { city: 'Oslo', zip: '0150' }, items: [{ sku: 'A1', qty: 2 }, { sku: 'B2', qty: 5 }], active: true, score: null, email: 'ann@example.com' },
  { _id: 'b', name: 'bob', age: 12, tags: ['y'], address: { city: 'Bergen' }, items: [{ sku: 'C3', qty: 1 }], active: false },
  { _id: 'c', name: 'Cid', age: '40', tags: [], items: [] },
  { _id: 'd', name: 'Dee', age: 13, tags: 'x', address: { city: 'Oslo' } },
  { _id: 'e', age: null, scores: [5, 20], grades: [{ g: 80 }, { g: 90 }] },
];

describe('api: queries', () => {
  const t = useTmpDb();
  let people: Collection;

  beforeEach(async () => {
    people = await t.db.collection('people');
    await people.insertMany(PEOPLE);
  });

  async function q(filter: Parameters<Collection['find']>[0]): Promise<string[]> {
    const found = ids(await people.find(filter));
    // count agrees with find, always.
    assert.equal(await people.count(filter), found.length, `count(${String(JSON.stringify(filter))})`);
    return found;
  }

  it('matches everything for undefined, {} and a function returning true', async () => {
    assert.deepEqual(await q(undefined), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(await q({}), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(await q(() => true), ['a', 'b', 'c', 'd', 'e']);
  });

  it('$eq and plain equality', async () => {
    assert.deepEqual(await q({ age: { $eq: 30 } }), ['a']);
    assert.deepEqual(await q({ name: 'Ann' }), ['a']);
    assert.deepEqual(await q({ age: 40 }), [], 'no type coercion: 40 !== "40"');
    assert.deepEqual(await q({ age: '40' }), ['c']);
    assert.deepEqual(await q({ active: false }), ['b']);
  });

  it('$ne (matches missing fields too)', async () => {
    assert.deepEqual(await q({ age: { $ne: 30 } }), ['b', 'c', 'd', 'e']);
    assert.deepEqual(await q({ active: { $ne: true } }), ['b', 'c', 'd', 'e']);
  });

  it('$gt $gte $lt $lte stay within one type class', async () => {
    assert.deepEqual(await q({ age: { $gt: 12 } }), ['a', 'd']);
    assert.deepEqual(await q({ age: { $gte: 13 } }), ['a', 'd']);
    assert.deepEqual(await q({ age: { $lt: 13 } }), ['b']);
    assert.deepEqual(await q({ age: { $lte: 13 } }), ['b', 'd']);
    assert.deepEqual(await q({ age: { $gt: 12, $lt: 30 } }), ['d']);
    assert.deepEqual(await q({ age: { $gte: '0' } }), ['c']);
    assert.deepEqual(await q({ name: { $gte: 'C', $lt: 'E' } }), ['c', 'd']);
  });

  it('$in and $nin', async () => {
    assert.deepEqual(await q({ age: { $in: [12, 13, '40'] } }), ['b', 'c', 'd']);
    assert.deepEqual(await q({ age: { $in: [] } }), []);
    assert.deepEqual(await q({ address: { $in: [null] } }), ['c', 'e']);
    assert.deepEqual(await q({ tags: { $in: ['y'] } }), ['a', 'b']);
    assert.deepEqual(await q({ name: { $in: [/^a/i, 'bob'] } }), ['a', 'b']);
    assert.deepEqual(await q({ age: { $nin: [12, 13] } }), ['a', 'c', 'e']);
    assert.deepEqual(await q({ tags: { $nin: ['x'] } }), ['b', 'c', 'e']);
  });

  it('$exists', async () => {
    assert.deepEqual(await q({ address: { $exists: true } }), ['a', 'b', 'd']);
    assert.deepEqual(await q({ address: { $exists: false } }), ['c', 'e']);
    assert.deepEqual(await q({ score: { $exists: true } }), ['a'], 'a null value exists');
    assert.deepEqual(await q({ 'address.zip': { $exists: true } }), ['a']);
  });

  it('$regex with $options, and RegExp values', async () => {
    assert.deepEqual(await q({ name: { $regex: '^b', $options: 'i' } }), ['b']);
    assert.deepEqual(await q({ name: { $regex: '^B' } }), []);
    assert.deepEqual(await q({ name: /^[A-C]/ }), ['a', 'c']);
    assert.deepEqual(await q({ name: { $regex: /d$/ } }), ['c']);
    assert.deepEqual(await q({ email: { $regex: '@example\\.com$' } }), ['a']);
    assert.deepEqual(await q({ age: { $regex: '4' } }), ['c'], 'regex only tests strings');
  });

  it('$and, $or, $nor', async () => {
    assert.deepEqual(await q({ $and: [{ age: { $gt: 10 } }, { 'address.city': 'Oslo' }] }), ['a', 'd']);
    assert.deepEqual(await q({ $or: [{ age: 12 }, { name: 'Cid' }] }), ['b', 'c']);
    assert.deepEqual(await q({ $nor: [{ age: { $type: 'number' } }, { name: 'Cid' }] }), ['e']);
    assert.deepEqual(await q({ $and: [{ $or: [{ age: 30 }, { age: 13 }] }, { $or: [{ tags: 'x' }, { tags: 'z' }] }] }), ['a', 'd']);
  });

  it('$or combined with sibling fields (AND)', async () => {
    assert.deepEqual(await q({ 'address.city': 'Oslo', $or: [{ age: { $lt: 20 } }, { active: true }] }), ['a', 'd']);
    assert.deepEqual(await q({ active: false, $or: [{ age: 30 }, { age: 12 }] }), ['b']);
    assert.deepEqual(await q({ active: true, $or: [{ age: 12 }, { age: 13 }] }), []);
  });

  it('$not', async () => {
    assert.deepEqual(await q({ age: { $not: { $gte: 13 } } }), ['b', 'c', 'e']);
    assert.deepEqual(await q({ name: { $not: /^[a-z]/ } }), ['a', 'c', 'd', 'e']);
  });

  it('$elemMatch (one element must satisfy all conditions)', async () => {
    assert.deepEqual(await q({ items: { $elemMatch: { sku: 'B2', qty: { $gt: 3 } } } }), ['a']);
    assert.deepEqual(await q({ items: { $elemMatch: { sku: 'A1', qty: { $gt: 3 } } } }), []);
    assert.deepEqual(await q({ grades: { $elemMatch: { g: { $gte: 85 } } } }), ['e']);
    assert.deepEqual(await q({ scores: { $elemMatch: { $gt: 6, $lt: 10 } } }), []);
    // Without $elemMatch, different elements may satisfy different conditions.
    assert.deepEqual(await q({ scores: { $gt: 6, $lt: 10 } }), ['e']);
  });

  it('$size and $all', async () => {
    assert.deepEqual(await q({ tags: { $size: 2 } }), ['a']);
    assert.deepEqual(await q({ tags: { $size: 0 } }), ['c']);
    assert.deepEqual(await q({ tags: { $all: ['x', 'y'] } }), ['a']);
    assert.deepEqual(await q({ tags: { $all: ['y'] } }), ['a', 'b']);
    assert.deepEqual(await q({ tags: { $all: ['x', 'z'] } }), []);
  });

  it('$type and $mod', async () => {
    assert.deepEqual(await q({ age: { $type: 'string' } }), ['c']);
    assert.deepEqual(await q({ age: { $type: 'null' } }), ['e']);
    assert.deepEqual(await q({ age: { $mod: [2, 0] } }), ['a', 'b']);
  });

  it('array contains, exact array equality, null and missing', async () => {
    assert.deepEqual(await q({ tags: 'y' }), ['a', 'b']);
    assert.deepEqual(await q({ tags: 'x' }), ['a', 'd']);
    assert.deepEqual(await q({ tags: ['y'] }), ['b']);
    assert.deepEqual(await q({ tags: ['y', 'x'] }), [], 'array equality is order-sensitive');
    assert.deepEqual(await q({ scores: 20 }), ['e']);
    assert.deepEqual(await q({ address: null }), ['c', 'e']);
    assert.deepEqual(await q({ score: null }), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(await q({ address: { city: 'Bergen' } }), ['b'], 'embedded object equality');
    assert.deepEqual(await q({ address: { zip: '0150', city: 'Oslo' } }), ['a'], 'key order does not matter');
  });

  it('dot paths into objects and arrays', async () => {
    assert.deepEqual(await q({ 'address.city': 'Oslo' }), ['a', 'd']);
    assert.deepEqual(await q({ 'items.sku': 'C3' }), ['b']);
    assert.deepEqual(await q({ 'items.0.sku': 'A1' }), ['a']);
    assert.deepEqual(await q({ 'items.1.sku': 'A1' }), []);
    assert.deepEqual(await q({ 'items.qty': { $gt: 4 } }), ['a']);
    assert.deepEqual(await q({ 'grades.1.g': 90 }), ['e']);
    assert.deepEqual(await q({ 'address.city.nope': { $exists: true } }), []);
  });

  it('function predicates in find, findOne and count', async () => {
    const isAdult = (d: Doc): boolean => typeof d.age === 'number' && d.age >= 18;
    assert.deepEqual(await q(isAdult), ['a']);
    assert.equal((await people.findOne((d) => d.name === 'Dee'))!._id, 'd');
    assert.equal(await people.findOne((d) => d.name === 'Nobody'), null);
  });

  it('find returns the stored (frozen) documents; findOne the first match or null', async () => {
    const found = await people.find({ _id: 'a' });
    assert.equal(found.length, 1);
    assert.ok(isDeepFrozen(found[0]));
    assert.deepEqual(found[0], await people.getById('a'));
    assert.equal((await people.findOne({ 'address.city': 'Oslo' }))!._id, 'a');
    assert.equal(await people.findOne({ name: 'Nobody' }), null);
    assert.equal((await people.findOne({}))!._id, 'a');
  });

  it('findByIndexedValue / findOneByIndexedValue (with and without an index)', async () => {
    assert.deepEqual(ids(await people.findByIndexedValue('tags', 'x')), ['a', 'd']);
    await people.createIndex('tags');
    assert.deepEqual(ids(await people.findByIndexedValue('tags', 'x')), ['a', 'd']);
    assert.equal((await people.findOneByIndexedValue('name', 'bob'))!._id, 'b');
    assert.equal(await people.findOneByIndexedValue('name', 'nobody'), null);
  });

  describe('sort, skip, limit', () => {
    const order = async (filter: Record<string, unknown>, options: Parameters<Collection['find']>[2]): Promise<string[]> =>
      (await people.find(filter, null, options)).map((d) => d._id);

    it('sorts ascending and descending, numbers and strings', async () => {
      assert.deepEqual(await order({ age: { $type: 'number' } }, { sort: { age: -1 } }), ['a', 'd', 'b']);
      assert.deepEqual(await order({ age: { $type: 'number' } }, { sort: { age: 1 } }), ['b', 'd', 'a']);
      assert.deepEqual(await order({ age: { $type: 'number' } }, { sort: { age: 'desc' } }), ['a', 'd', 'b']);
      // Missing sorts first ascending; strings by code unit (upper case before lower case).
      assert.deepEqual(await order({}, { sort: { name: 1 } }), ['e', 'a', 'c', 'd', 'b']);
      assert.deepEqual(await order({}, { sort: { name: 'asc' } }), ['e', 'a', 'c', 'd', 'b']);
      assert.deepEqual(await order({}, { sort: { name: -1 } }), ['b', 'd', 'c', 'a', 'e']);
    });

    it('sorts by several keys and dot paths', async () => {
      assert.deepEqual(await order({}, { sort: { 'address.city': 1, age: -1 } }), ['c', 'e', 'b', 'a', 'd']);
    });

    it('skips and limits, with and without sort', async () => {
      assert.deepEqual(await order({ age: { $type: 'number' } }, { sort: { age: -1 }, skip: 1, limit: 1 }), ['d']);
      assert.deepEqual(await order({}, { limit: 2 }), ['a', 'b']);
      assert.deepEqual(await order({}, { skip: 3 }), ['d', 'e']);
      assert.deepEqual(await order({}, { skip: 1, limit: 2 }), ['b', 'c']);
      assert.deepEqual(await order({}, { skip: 10 }), []);
      assert.deepEqual(await order({}, { limit: 0 }), []);
      assert.deepEqual(await order({ tags: 'y' }, { sort: { _id: -1 }, limit: 5 }), ['b', 'a']);
    });

    it('rejects a bad skip, limit or sort direction', async () => {
      await assert.rejects(people.find({}, null, { skip: -1 }), ValidationError);
      await assert.rejects(people.find({}, null, { limit: 1.5 }), ValidationError);
      await assert.rejects(people.find({}, null, { sort: { age: 2 as 1 } }), ValidationError);
    });
  });

  describe('projection', () => {
    it('inclusion keeps _id unless _id: 0', async () => {
      assert.deepEqual(await people.find({ _id: 'a' }, { name: 1, 'address.city': 1 }), [{ _id: 'a', name: 'Ann', address: { city: 'Oslo' } }]);
      assert.deepEqual(await people.findOne({ _id: 'a' }, { name: 1, _id: 0 }), { name: 'Ann' });
      assert.deepEqual(await people.findOne({ _id: 'a' }, { 'items.sku': 1 }), { _id: 'a', items: [{ sku: 'A1' }, { sku: 'B2' }] });
      assert.deepEqual(await people.findOne({ _id: 'e' }, { name: 1 }), { _id: 'e' });
      assert.deepEqual(await people.findOne({ _id: 'a' }, { _id: 1 }), { _id: 'a' });
    });

    it('exclusion drops the given paths', async () => {
      const doc = await people.findOne({ _id: 'b' }, { items: 0, createdAt: 0, updatedAt: 0, 'address.city': 0 });
      assert.deepEqual(doc, { _id: 'b', name: 'bob', age: 12, tags: ['y'], address: {}, active: false });
      const noId = await people.findOne({ _id: 'd' }, { _id: 0, createdAt: 0, updatedAt: 0 });
      assert.deepEqual(noId, { name: 'Dee', age: 13, tags: 'x', address: { city: 'Oslo' } });
    });

    it('{ _id: 0 } alone excludes only _id', async () => {
      const doc = await people.findOne({ _id: 'd' }, { _id: 0 });
      assert.ok(doc);
      assert.ok(!Object.prototype.hasOwnProperty.call(doc, '_id'));
      assert.equal(doc.name, 'Dee');
      assert.ok(typeof doc.createdAt === 'string');
    });

    it('works with sort and limit (sorting on a field that is projected away)', async () => {
      const docs = await people.find({ age: { $type: 'number' } }, { name: 1, _id: 0 }, { sort: { age: 1 }, limit: 2 });
      assert.deepEqual(docs, [{ name: 'bob' }, { name: 'Dee' }]);
    });

    it('returns copies: changing them changes nothing stored', async () => {
      const doc = (await people.findOne({ _id: 'a' }, { address: 1 }))!;
      (doc.address as Record<string, unknown>).city = 'Rome';
      assert.equal(((await people.getById('a'))!.address as Record<string, unknown>).city, 'Oslo');
    });

    it('rejects mixing inclusion and exclusion', async () => {
      await assert.rejects(people.find({}, { name: 1, age: 0 }), ValidationError);
      await assert.rejects(people.find({}, { name: 'yes' }), ValidationError);
    });
  });

  describe('invalid queries', () => {
    it('an unknown operator rejects with ValidationError (code VALIDATION)', async () => {
      const isValidation = (err: unknown): boolean => {
        assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
        assert.equal(err.code, 'VALIDATION');
        return true;
      };
      await assert.rejects(people.find({ age: { $foo: 1 } }), isValidation);
      await assert.rejects(people.find({ $foo: [{ age: 1 }] }), isValidation);
      await assert.rejects(people.findOne({ age: { $gt: 1, $bar: 2 } }), isValidation);
      await assert.rejects(people.count({ age: { $foo: 1 } }), isValidation);
      await assert.rejects(people.updateMany({ age: { $foo: 1 } }, { $set: { x: 1 } }), isValidation);
      await assert.rejects(people.deleteMany({ age: { $foo: 1 } }), isValidation);
      await assert.rejects(people.findOneAndUpdate({ age: { $foo: 1 } }, { $set: { x: 1 } }), isValidation);
    });

    it('malformed operands reject with ValidationError', async () => {
      await assert.rejects(people.find({ age: { $in: 5 } }), ValidationError);
      await assert.rejects(people.find({ name: { $regex: '(' } }), ValidationError);
      await assert.rejects(people.find({ name: { $options: 'i' } }), ValidationError);
      await assert.rejects(people.find({ tags: { $size: -1 } }), ValidationError);
      await assert.rejects(people.find({ $or: [] }), ValidationError);
      await assert.rejects(people.find({ age: { $gt: 1, plain: 2 } }), ValidationError);
      await assert.rejects(people.find('age > 3' as unknown as Record<string, unknown>), ValidationError);
    });

    it('also rejects on an empty collection and with an index present', async () => {
      const empty = await t.db.collection('empty');
      await assert.rejects(empty.find({ a: { $foo: 1 } }), ValidationError);
      await people.createIndex('age');
      await assert.rejects(people.find({ age: { $foo: 1 } }), ValidationError);
    });
  });
});
