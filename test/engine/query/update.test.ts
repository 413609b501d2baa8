import assert from 'node:assert/strict';
import { applyUpdate, isOperatorUpdate, replaceDocument } from '../../../src/engine/query/update';
import { ValidationError } from '../../../src/engine/errors';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

const NOW = '2025-01-01T00:00:00.000Z';
const base = () =>
  deepFreeze({
    _id: 'id1',
    name: 'Ann',
    n: 5,
    tags: ['a', 'b'],
    scores: [3, 8, 1],
    items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }],
    address: { city: 'Oslo', geo: { lat: 1 } },
    untouched: { deep: { x: 1 } },
    createdAt: '2020-01-01T00:00:00.000Z',
    updatedAt: '2020-01-01T00:00:00.000Z',
  });
type Base = ReturnType<typeof base>;
const SNAPSHOT = JSON.stringify(base());

function upd(update: object, doc: object = base()): Record<string, unknown> {
  const before = JSON.stringify(doc);
  const out = applyUpdate(doc, update, NOW);
  assert.equal(JSON.stringify(doc), before); // input intact (it is also frozen)
  return out;
}

function invalid(fn: () => unknown, ...words: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`);
    for (const w of words) assert.ok(e.message.includes(w), `"${e.message}" should mention ${w}`);
    return true;
  });
}

describe('query/update', () => {
  describe('isOperatorUpdate', () => {
    it('distinguishes operators from replacements and refuses mixes', () => {
      assert.equal(isOperatorUpdate({ $set: { a: 1 } }), true);
      assert.equal(isOperatorUpdate({ a: 1 }), false);
      assert.equal(isOperatorUpdate({}), false);
      invalid(() => isOperatorUpdate({ $set: { a: 1 }, b: 2 }), 'mixes', '$set', 'b');
      invalid(() => isOperatorUpdate([] as unknown as object), 'object');
      invalid(() => isOperatorUpdate(null as unknown as object), 'object');
    });
  });

  describe('operators', () => {
    it('never mutates a frozen input and shares only unchanged subtrees', () => {
      const doc = base();
      const out = applyUpdate(doc, { $set: { 'address.city': 'Bergen', 'items.1.qty': 9 }, $push: { tags: 'c' }, $inc: { n: 1 } }, NOW) as Base;
      assert.equal(JSON.stringify(doc), SNAPSHOT);
      assert.equal(out.address.city, 'Bergen');
      assert.equal(out.items[1].qty, 9);
      assert.deepEqual(out.tags, ['a', 'b', 'c']);
      assert.equal(out.n, 6);
      assert.equal(out.untouched, doc.untouched); // shared, not copied
      assert.equal(out.address.geo, doc.address.geo);
      assert.equal(out.items[0], doc.items[0]);
      assert.notEqual(out.items, doc.items);
      assert.ok(!Object.isFrozen(out));
    });

    it('sets updatedAt and keeps _id/createdAt', () => {
      const out = upd({ $set: { name: 'X' } });
      assert.equal(out._id, 'id1');
      assert.equal(out.createdAt, '2020-01-01T00:00:00.000Z');
      assert.equal(out.updatedAt, NOW);
    });

    it('$set with dot paths, creating objects; undefined unsets; values are copied', () => {
      const value = { deep: [1] };
      const out = upd({ $set: { 'a.b.c': 1, name: undefined, v: value, 'scores.4': 9 } });
      assert.deepEqual(out.a, { b: { c: 1 } });
      assert.ok(!('name' in out));
      assert.deepEqual(out.scores, [3, 8, 1, null, 9]);
      value.deep.push(2);
      assert.deepEqual(out.v, { deep: [1] });
      assert.equal(upd({ $set: { at: new Date(0) } }).at, '1970-01-01T00:00:00.000Z');
    });

    it('$set through a scalar is an error', () => {
      invalid(() => upd({ $set: { 'name.first': 'A' } }), 'name', 'string');
    });

    it('$unset removes fields and nulls array elements', () => {
      const out = upd({ $unset: { name: '', 'address.geo': 1, 'tags.0': true, 'no.such': 1 } }) as Record<string, unknown>;
      assert.ok(!('name' in out));
      assert.deepEqual(out.address, { city: 'Oslo' });
      assert.deepEqual(out.tags, [null, 'b']);
    });

    it('$inc and $mul', () => {
      assert.equal(upd({ $inc: { n: -2 } }).n, 3);
      assert.equal(upd({ $inc: { fresh: 2 } }).fresh, 2);
      assert.equal(upd({ $inc: { 'items.0.qty': 10 } }).items instanceof Array, true);
      assert.equal((upd({ $inc: { 'items.0.qty': 10 } }) as Base).items[0].qty, 11);
      assert.equal(upd({ $mul: { n: 3 } }).n, 15);
      assert.equal(upd({ $mul: { fresh: 3 } }).fresh, 0);
      invalid(() => upd({ $inc: { name: 1 } }), '$inc', 'name', 'not a number');
      invalid(() => upd({ $mul: { tags: 2 } }), '$mul', 'tags');
      invalid(() => upd({ $inc: { n: '1' } }), '$inc', 'number');
      invalid(() => upd({ $inc: { n: NaN } }), '$inc');
    });

    it('$min and $max', () => {
      assert.equal(upd({ $min: { n: 2 } }).n, 2);
      assert.equal(upd({ $min: { n: 9 } }).n, 5);
      assert.equal(upd({ $max: { n: 9 } }).n, 9);
      assert.equal(upd({ $max: { n: 1 } }).n, 5);
      assert.equal(upd({ $max: { fresh: 1 } }).fresh, 1);
      assert.equal(upd({ $min: { fresh: 1 } }).fresh, 1);
      assert.equal(upd({ $max: { n: 'str' } }).n, 'str'); // strings sort after numbers
    });

    it('$rename', () => {
      const out = upd({ $rename: { name: 'fullName', 'address.city': 'town' } });
      assert.equal(out.fullName, 'Ann');
      assert.ok(!('name' in out));
      assert.equal(out.town, 'Oslo');
      assert.deepEqual(out.address, { geo: { lat: 1 } });
      assert.deepEqual(upd({ $rename: { nope: 'x' } }).x, undefined);
      invalid(() => upd({ $rename: { name: 5 } }), '$rename');
      invalid(() => upd({ $rename: { 'tags.0': 'x' } }), '$rename');
      invalid(() => upd({ $rename: { name: '_id' } }), '_id');
    });

    it('$push with $each, $position, $slice and $sort', () => {
      assert.deepEqual(upd({ $push: { tags: 'c' } }).tags, ['a', 'b', 'c']);
      assert.deepEqual(upd({ $push: { tags: ['c'] } }).tags, ['a', 'b', ['c']]);
      assert.deepEqual(upd({ $push: { fresh: 1 } }).fresh, [1]);
      assert.deepEqual(upd({ $push: { tags: { $each: ['c', 'd'] } } }).tags, ['a', 'b', 'c', 'd']);
      assert.deepEqual(upd({ $push: { tags: { $each: ['z'], $position: 0 } } }).tags, ['z', 'a', 'b']);
      assert.deepEqual(upd({ $push: { tags: { $each: ['z'], $position: -1 } } }).tags, ['a', 'z', 'b']);
      assert.deepEqual(upd({ $push: { scores: { $each: [5], $slice: -2 } } }).scores, [1, 5]);
      assert.deepEqual(upd({ $push: { scores: { $each: [5], $slice: 2 } } }).scores, [3, 8]);
      assert.deepEqual(upd({ $push: { scores: { $each: [5], $sort: -1, $slice: 3 } } }).scores, [8, 5, 3]);
      assert.deepEqual((upd({ $push: { items: { $each: [{ sku: 'C', qty: 0 }], $sort: { qty: 1 } } } }) as Base).items.map((i) => i.sku), ['C', 'A', 'B']);
      assert.deepEqual(upd({ $push: { 'address.tags': 'x' } }).address, { city: 'Oslo', geo: { lat: 1 }, tags: ['x'] });
      invalid(() => upd({ $push: { name: 'x' } }), '$push', 'array');
      invalid(() => upd({ $push: { tags: { $each: 'x' } } }), '$each');
      invalid(() => upd({ $push: { tags: { $slice: 1 } } }), '$each');
      invalid(() => upd({ $push: { tags: { $each: [], $bogus: 1 } } }), '$bogus');
      invalid(() => upd({ $push: { tags: { $each: [], $slice: 1.5 } } }), '$slice');
      invalid(() => upd({ $push: { tags: { $each: [], $sort: 'up' } } }), '$sort');
    });

    it('$addToSet skips deep-equal duplicates', () => {
      assert.deepEqual(upd({ $addToSet: { tags: 'a' } }).tags, ['a', 'b']);
      assert.deepEqual(upd({ $addToSet: { tags: { $each: ['b', 'c', 'c'] } } }).tags, ['a', 'b', 'c']);
      assert.deepEqual((upd({ $addToSet: { items: { qty: 1, sku: 'A' } } }) as Base).items.length, 2);
      assert.deepEqual(upd({ $addToSet: { fresh: 'x' } }).fresh, ['x']);
      invalid(() => upd({ $addToSet: { n: 1 } }), '$addToSet');
    });

    it('$pull by value, regex, operators and sub-query; $pullAll', () => {
      assert.deepEqual(upd({ $pull: { tags: 'a' } }).tags, ['b']);
      assert.deepEqual(upd({ $pull: { tags: /^[ab]$/ } }).tags, []);
      assert.deepEqual(upd({ $pull: { scores: { $gte: 3 } } }).scores, [1]);
      assert.deepEqual(upd({ $pull: { scores: { $in: [1, 8] } } }).scores, [3]);
      assert.deepEqual((upd({ $pull: { items: { sku: 'A' } } }) as Base).items, [{ sku: 'B', qty: 2 }]);
      assert.deepEqual((upd({ $pull: { items: { qty: { $gt: 0 }, $or: [{ sku: 'B' }] } } }) as Base).items, [{ sku: 'A', qty: 1 }]);
      assert.ok(!('fresh' in upd({ $pull: { fresh: 1 } })));
      assert.deepEqual(upd({ $pullAll: { scores: [3, 1] } }).scores, [8]);
      invalid(() => upd({ $pull: { name: 'A' } }), '$pull', 'array');
      invalid(() => upd({ $pullAll: { tags: 'a' } }), '$pullAll');
      invalid(() => upd({ $pull: { scores: { $wat: 1 } } }), '$wat');
    });

    it('$pop', () => {
      assert.deepEqual(upd({ $pop: { scores: 1 } }).scores, [3, 8]);
      assert.deepEqual(upd({ $pop: { scores: -1 } }).scores, [8, 1]);
      invalid(() => upd({ $pop: { scores: 2 } }), '$pop');
    });

    it('$currentDate', () => {
      assert.equal(upd({ $currentDate: { seen: true } }).seen, NOW);
      assert.equal((upd({ $currentDate: { 'meta.at': { $type: 'date' } } }).meta as Record<string, unknown>).at, NOW);
      assert.equal(upd({ $currentDate: { updatedAt: true } }).updatedAt, NOW);
      invalid(() => upd({ $currentDate: { seen: { $type: 'timestamp' } } }), '$currentDate');
    });

    it('protects _id and createdAt', () => {
      invalid(() => upd({ $set: { _id: 'other' } }), '_id');
      invalid(() => upd({ $set: { '_id.x': 1 } }), '_id');
      invalid(() => upd({ $unset: { _id: 1 } }), '_id');
      invalid(() => upd({ $inc: { createdAt: 1 } }), 'createdAt');
      invalid(() => upd({ $rename: { createdAt: 'c' } }), 'createdAt');
      // $set to the current value is fine (a whole-document $set).
      const whole = { ...base(), name: 'Bea' };
      const out = upd({ $set: whole });
      assert.equal(out.name, 'Bea');
      assert.equal(out.updatedAt, NOW);
    });

    it('rejects unknown operators, non-object arguments and conflicting paths', () => {
      invalid(() => upd({ $frob: { a: 1 } }), '$frob', '$set', '$addToSet');
      invalid(() => upd({ $set: 5 }), '$set');
      invalid(() => upd({ $set: { a: 1 }, $inc: { a: 1 } }), 'conflict');
      invalid(() => upd({ $set: { 'a.b': 1 }, $unset: { a: 1 } }), 'conflict');
      invalid(() => upd({ $rename: { name: 'n' }, $inc: { n: 1 } }), 'conflict');
      invalid(() => upd({ $set: { 'items.0.qty': 1, 'items.0': {} } }), 'conflict');
      assert.deepEqual(upd({ $set: { 'a.b': 1, 'a.c': 2 } }).a, { b: 1, c: 2 }); // siblings are fine
    });
  });

  // Replacement is replaceOne's (replaceDocument); an update without operators merges (below).
  describe('replaceDocument', () => {
    const rep = (body: object, doc: object = base()): Record<string, unknown> => replaceDocument(doc, body, NOW);
    it('replaces the body, keeps _id and createdAt, ignores attempts to change them', () => {
      const out = rep({ other: 1, _id: 'hack', createdAt: 'x', updatedAt: 'y', nested: { a: [1] } });
      assert.deepEqual(out, { _id: 'id1', other: 1, nested: { a: [1] }, createdAt: '2020-01-01T00:00:00.000Z', updatedAt: NOW });
      assert.deepEqual(rep({}), { _id: 'id1', createdAt: '2020-01-01T00:00:00.000Z', updatedAt: NOW });
    });

    it('copies the replacement body', () => {
      const body = { list: [1] };
      const out = rep(body);
      body.list.push(2);
      assert.deepEqual(out.list, [1]);
    });

    it('does not invent _id/createdAt that were absent', () => {
      const out = replaceDocument(deepFreeze({ a: 1 }), { b: 2 }, NOW);
      assert.deepEqual(out, { b: 2, updatedAt: NOW });
    });

    it('refuses operators and non-objects', () => {
      invalid(() => rep({ $set: { a: 1 } }), 'operator');
      invalid(() => rep('x' as unknown as object), 'replacement');
    });
  });

  describe('an update without operators merges (WiseJSON)', () => {
    it('keeps the fields it does not name', () => {
      const out = upd({ other: 1, _id: 'hack', createdAt: 'x' });
      const doc = base();
      assert.equal(out.other, 1);
      assert.equal(out.name, doc.name);
      assert.equal(out._id, 'id1');
      assert.equal(out.createdAt, '2020-01-01T00:00:00.000Z');
      assert.deepEqual(upd({}), { ...doc, updatedAt: NOW });
    });
  });

  describe('applyUpdate without operators (the former applyPatch)', () => {
    it('merges top-level fields shallowly', () => {
      const doc = base();
      const out = applyUpdate(doc, { name: 'Bea', address: { city: 'Bergen' }, extra: [1], n: undefined, _id: 'x', createdAt: 'y', updatedAt: 'z' }, NOW);
      assert.equal(JSON.stringify(doc), SNAPSHOT);
      assert.equal(out.name, 'Bea');
      assert.deepEqual(out.address, { city: 'Bergen' }); // replaced, not merged
      assert.deepEqual(out.extra, [1]);
      assert.ok(!('n' in out));
      assert.equal(out._id, 'id1');
      assert.equal(out.createdAt, '2020-01-01T00:00:00.000Z');
      assert.equal(out.updatedAt, NOW);
      assert.equal(out.untouched, doc.untouched);
    });

    it('delegates operator patches and refuses mixes', () => {
      assert.equal(applyUpdate(base(), { $inc: { n: 1 } }, NOW).n, 6);
      invalid(() => applyUpdate(base(), { $inc: { n: 1 }, name: 'x' }, NOW), 'mixes');
      invalid(() => applyUpdate(base(), 'x' as unknown as object, NOW), 'object');
    });

    it('keeps a "__proto__" key a plain field', () => {
      const out = applyUpdate(base(), JSON.parse('{"__proto__": {"polluted": 1}}'), NOW);
      assert.ok(Object.prototype.hasOwnProperty.call(out, '__proto__'));
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
    });
  });
});
