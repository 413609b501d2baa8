import assert from 'node:assert/strict';
import { compileQuery, compileElementPredicate, QueryFilter } from '../../../src/engine/query/match';
import { ValidationError } from '../../../src/engine/errors';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

const people = deepFreeze([
  { _id: 'a', name: 'Ann', age: 30, tags: ['x', 'y'], address: { city: 'Oslo', zip: '0150' }, items: [{ sku: 'A1', qty: 2 }, { sku: 'B2', qty: 5 }], active: true, score: null },
  { _id: 'b', name: 'bob', age: 12, tags: ['y'], address: { city: 'Bergen' }, items: [{ sku: 'C3', qty: 1 }], active: false },
  { _id: 'c', name: 'Cid', age: '40', tags: [], items: [], nested: { deep: { value: 7 } } },
  { _id: 'd', name: 'Dee', age: 13, tags: 'x', address: { city: 'Oslo' }, matrix: [[1, 2], [3]], createdAt: '2024-03-01T00:00:00.000Z' },
  { _id: 'e', age: null, scores: [5, 20], grades: [{ g: 80, w: 1 }, { g: 90, w: 2 }] },
]);

/** The ids of `people` matching `q`. */
function ids(q: QueryFilter | undefined): string[] {
  const m = compileQuery(q);
  return people.filter((d) => m(d)).map((d) => d._id);
}

describe('query/match', () => {
  describe('basics', () => {
    it('matches everything for undefined, null and {}', () => {
      assert.deepEqual(ids(undefined), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(ids({}), ['a', 'b', 'c', 'd', 'e']);
      assert.equal(compileQuery(null)({}), true);
    });

    it('uses a function query as is', () => {
      const fn = (d: { age?: unknown }) => d.age === 12;
      assert.equal(compileQuery(fn), fn);
    });

    it('rejects non-object queries', () => {
      assert.throws(() => compileQuery('x' as unknown as QueryFilter), ValidationError);
      assert.throws(() => compileQuery([] as unknown as QueryFilter), ValidationError);
    });

    it('does not mutate the query or documents', () => {
      const q = deepFreeze({ age: { $gte: 10 }, $or: [{ name: /a/i }, { tags: 'x' }] });
      assert.deepEqual(ids(q), ['a', 'd']);
    });
  });

  describe('equality', () => {
    it('matches scalars by type (1 is not "1")', () => {
      assert.deepEqual(ids({ age: 30 }), ['a']);
      assert.deepEqual(ids({ age: '40' }), ['c']);
      assert.deepEqual(ids({ age: 40 }), []);
      assert.deepEqual(ids({ active: false }), ['b']);
    });

    it('matches an array that contains the value or equals it whole', () => {
      assert.deepEqual(ids({ tags: 'x' }), ['a', 'd']);
      assert.deepEqual(ids({ tags: ['y'] }), ['b']);
      assert.deepEqual(ids({ tags: ['x', 'y'] }), ['a']);
      assert.deepEqual(ids({ tags: ['y', 'x'] }), []);
      assert.deepEqual(ids({ tags: [] }), ['c']);
      assert.deepEqual(ids({ matrix: [3] }), ['d']);
    });

    it('compares objects structurally, ignoring key order', () => {
      assert.deepEqual(ids({ address: { zip: '0150', city: 'Oslo' } }), ['a']);
      assert.deepEqual(ids({ address: { city: 'Oslo' } }), ['d']);
    });

    it('null matches null and missing fields', () => {
      assert.deepEqual(ids({ score: null }), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(ids({ age: null }), ['e']);
      assert.deepEqual(ids({ name: null }), ['e']);
      assert.deepEqual(ids({ name: undefined }), ['e']);
      assert.deepEqual(ids({ age: { $eq: null } }), ['e']);
    });

    it('a RegExp value matches strings', () => {
      assert.deepEqual(ids({ name: /^b/ }), ['b']);
      assert.deepEqual(ids({ name: /^B/i }), ['b']);
      assert.deepEqual(ids({ tags: /^x$/ }), ['a', 'd']);
      assert.deepEqual(ids({ age: /4/ }), ['c']); // numbers are not strings
    });

    it('global/sticky regexes are stateless across documents', () => {
      assert.deepEqual(ids({ name: /e/g }), ['d']);
      assert.deepEqual(ids({ name: { $regex: /e/gy } }), []); // sticky: anchored at 0 for every document
      assert.deepEqual(ids({ name: { $in: [/[bD]/y] } }), ['b', 'd']);
      const re = /A/g;
      compileQuery({ name: re })({ name: 'Ann' });
      assert.equal(re.lastIndex, 0); // the caller's RegExp is untouched
      const m = compileQuery({ name: /n/g });
      assert.equal(m({ name: 'Ann' }), true);
      assert.equal(m({ name: 'Ann' }), true);
    });

    it('treats a Date in a query as its ISO string', () => {
      assert.deepEqual(ids({ createdAt: new Date('2024-03-01T00:00:00Z') }), ['d']);
      assert.deepEqual(ids({ createdAt: { $gt: new Date('2024-01-01T00:00:00Z') } }), ['d']);
      assert.deepEqual(ids({ createdAt: { $lt: new Date('2024-01-01T00:00:00Z') } }), []);
    });
  });

  describe('comparison operators', () => {
    it('$eq and $ne', () => {
      assert.deepEqual(ids({ age: { $eq: 12 } }), ['b']);
      assert.deepEqual(ids({ age: { $ne: 12 } }), ['a', 'c', 'd', 'e']);
      assert.deepEqual(ids({ tags: { $ne: 'x' } }), ['b', 'c', 'e']); // missing and arrays without it
      assert.deepEqual(ids({ name: { $ne: null } }), ['a', 'b', 'c', 'd']);
      assert.deepEqual(ids({ name: { $eq: /^a/i } }), ['a']);
    });

    it('$gt $gte $lt $lte only within a type class', () => {
      assert.deepEqual(ids({ age: { $gt: 12 } }), ['a', 'd']);
      assert.deepEqual(ids({ age: { $gte: 12 } }), ['a', 'b', 'd']);
      assert.deepEqual(ids({ age: { $lt: 13 } }), ['b']);
      assert.deepEqual(ids({ age: { $lte: 13 } }), ['b', 'd']);
      assert.deepEqual(ids({ age: { $gte: 10, $lt: 14 } }), ['b', 'd']);
      assert.deepEqual(ids({ age: { $gt: '' } }), ['c']); // only strings
      assert.deepEqual(ids({ name: { $gte: 'C', $lt: 'E' } }), ['c', 'd']);
    });

    it('ranges with null bounds mean null/missing', () => {
      assert.deepEqual(ids({ score: { $gte: null } }), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(ids({ age: { $lte: null } }), ['e']);
      assert.deepEqual(ids({ age: { $gt: null } }), []);
    });

    it('ranges over other type classes use the total order', () => {
      assert.deepEqual(ids({ active: { $gt: false } }), ['a']);
      assert.deepEqual(ids({ address: { $gte: { city: 'Oslo' } } }), ['a', 'd']);
      assert.deepEqual(ids({ matrix: { $gte: [3] } }), ['d']);
    });

    it('each range operator may be met by a different array element (MongoDB semantics)', () => {
      assert.deepEqual(ids({ scores: { $gt: 10, $lt: 6 } }), ['e']);
      assert.deepEqual(ids({ scores: { $elemMatch: { $gt: 10, $lt: 6 } } }), []);
      assert.deepEqual(ids({ scores: { $elemMatch: { $gt: 10, $lt: 30 } } }), ['e']);
    });

    it('$in and $nin', () => {
      assert.deepEqual(ids({ age: { $in: [12, 13, '40'] } }), ['b', 'c', 'd']);
      assert.deepEqual(ids({ tags: { $in: ['x'] } }), ['a', 'd']);
      assert.deepEqual(ids({ name: { $in: [/^a/i, 'Dee'] } }), ['a', 'd']);
      assert.deepEqual(ids({ address: { $in: [{ city: 'Bergen' }] } }), ['b']);
      assert.deepEqual(ids({ name: { $in: [null, 'bob'] } }), ['b', 'e']);
      assert.deepEqual(ids({ age: { $in: [] } }), []);
      assert.deepEqual(ids({ age: { $nin: [12, 13] } }), ['a', 'c', 'e']);
      assert.deepEqual(ids({ tags: { $nin: ['y'] } }), ['c', 'd', 'e']);
      assert.deepEqual(ids({ name: { $nin: [null] } }), ['a', 'b', 'c', 'd']);
      assert.deepEqual(ids({ age: { $in: [new Date(0)] } }), []);
    });

    it('$exists', () => {
      assert.deepEqual(ids({ score: { $exists: true } }), ['a']); // null exists
      assert.deepEqual(ids({ address: { $exists: false } }), ['c', 'e']);
      assert.deepEqual(ids({ 'items.sku': { $exists: true } }), ['a', 'b']);
      assert.deepEqual(ids({ 'nested.deep.value': { $exists: 1 } }), ['c']);
      assert.deepEqual(ids({ 'items.sku': { $exists: false } }), ['c', 'd', 'e']);
    });

    it('$regex with $options, strings and RegExps', () => {
      assert.deepEqual(ids({ name: { $regex: '^b' } }), ['b']);
      assert.deepEqual(ids({ name: { $regex: '^B', $options: 'i' } }), ['b']);
      assert.deepEqual(ids({ name: { $regex: /^B/, $options: 'i' } }), ['b']);
      assert.deepEqual(ids({ name: { $regex: /^B/i } }), ['b']);
      assert.deepEqual(ids({ 'address.city': { $regex: 'slo$' } }), ['a', 'd']);
    });

    it('$not wraps operators and regexes', () => {
      assert.deepEqual(ids({ age: { $not: { $gte: 13 } } }), ['b', 'c', 'e']);
      assert.deepEqual(ids({ name: { $not: /^[A-C]/ } }), ['b', 'd', 'e']);
      assert.deepEqual(ids({ name: { $not: { $regex: '^d', $options: 'i' } } }), ['a', 'b', 'c', 'e']);
    });

    it('$size', () => {
      assert.deepEqual(ids({ tags: { $size: 2 } }), ['a']);
      assert.deepEqual(ids({ tags: { $size: 0 } }), ['c']);
      assert.deepEqual(ids({ matrix: { $size: 1 } }), []); // elements' sizes do not count
    });

    it('$all', () => {
      assert.deepEqual(ids({ tags: { $all: ['y', 'x'] } }), ['a']);
      assert.deepEqual(ids({ tags: { $all: ['x'] } }), ['a', 'd']);
      assert.deepEqual(ids({ tags: { $all: [] } }), []);
      assert.deepEqual(ids({ grades: { $all: [{ $elemMatch: { g: 80 } }, { $elemMatch: { g: { $gt: 85 } } }] } }), ['e']);
    });

    it('$elemMatch with operators and with sub-queries', () => {
      assert.deepEqual(ids({ items: { $elemMatch: { sku: 'A1', qty: 2 } } }), ['a']);
      assert.deepEqual(ids({ items: { $elemMatch: { sku: 'A1', qty: 5 } } }), []);
      assert.deepEqual(ids({ items: { $elemMatch: { qty: { $gte: 5 } } } }), ['a']);
      assert.deepEqual(ids({ items: { $elemMatch: { $or: [{ sku: 'C3' }, { qty: 5 }] } } }), ['a', 'b']);
      assert.deepEqual(ids({ tags: { $elemMatch: { $in: ['y'] } } }), ['a', 'b']);
      assert.deepEqual(ids({ tags: { $elemMatch: { $eq: 'x' } } }), ['a']); // 'd' holds a string, not an array
      assert.deepEqual(ids({ items: { $elemMatch: {} } }), ['a', 'b']);
    });

    it('$type and $mod', () => {
      assert.deepEqual(ids({ age: { $type: 'string' } }), ['c']);
      assert.deepEqual(ids({ age: { $type: ['null', 'string'] } }), ['c', 'e']);
      assert.deepEqual(ids({ tags: { $type: 'array' } }), ['a', 'b', 'c']);
      assert.deepEqual(ids({ age: { $type: 16 } }), ['a', 'b', 'd']);
      assert.deepEqual(ids({ age: { $mod: [3, 0] } }), ['a', 'b']);
    });
  });

  describe('paths', () => {
    it('follows dot paths into objects', () => {
      assert.deepEqual(ids({ 'address.city': 'Oslo' }), ['a', 'd']);
      assert.deepEqual(ids({ 'nested.deep.value': { $gt: 5 } }), ['c']);
      assert.deepEqual(ids({ 'address.city.x': null }), ['a', 'b', 'c', 'd', 'e']);
    });

    it('uses numeric segments as array indexes', () => {
      assert.deepEqual(ids({ 'items.0.sku': 'A1' }), ['a']);
      assert.deepEqual(ids({ 'items.1.sku': 'A1' }), []);
      assert.deepEqual(ids({ 'items.1.qty': 5 }), ['a']);
      assert.deepEqual(ids({ 'tags.1': 'y' }), ['a']);
      assert.deepEqual(ids({ 'matrix.0': 2 }), ['d']);
      assert.deepEqual(ids({ 'scores.5': { $exists: true } }), []);
    });

    it('fans out across arrays of objects', () => {
      assert.deepEqual(ids({ 'items.sku': 'B2' }), ['a']);
      assert.deepEqual(ids({ 'items.qty': { $gt: 1 } }), ['a']);
      assert.deepEqual(ids({ 'items.qty': { $lt: 2 } }), ['b']);
      assert.deepEqual(ids({ 'grades.g': { $all: [80, 90] } }), ['e']);
      assert.deepEqual(ids({ 'items.sku': { $in: ['C3', 'Z'] } }), ['b']);
    });

    it('does not reach Object.prototype', () => {
      const m = compileQuery({ constructor: { $exists: true } });
      assert.equal(m({ a: 1 }), false);
      assert.equal(m({ constructor: 1 }), true);
      assert.equal(compileQuery({ 'a.toString': { $exists: true } })({ a: {} }), false);
      assert.equal(compileQuery({ __proto__: { $exists: true } } as QueryFilter)({}), true); // literal {__proto__} is a prototype, not a key
      assert.equal(compileQuery(JSON.parse('{"__proto__": {"$exists": true}}'))({}), false);
    });

    it('does not traverse nested arrays or scalars in arrays', () => {
      const m = compileQuery({ 'a.b': 1 });
      assert.equal(m({ a: [[{ b: 1 }]] }), false);
      assert.equal(m({ a: [1, { b: 1 }] }), true);
    });
  });

  describe('logical operators', () => {
    it('$and, $or, $nor at the top level', () => {
      assert.deepEqual(ids({ $and: [{ 'address.city': 'Oslo' }, { age: { $lt: 20 } }] }), ['d']);
      assert.deepEqual(ids({ $or: [{ age: 12 }, { name: 'Cid' }] }), ['b', 'c']);
      assert.deepEqual(ids({ $nor: [{ age: 12 }, { name: 'Cid' }] }), ['a', 'd', 'e']);
    });

    it('ANDs sibling conditions with $or', () => {
      assert.deepEqual(ids({ 'address.city': 'Oslo', $or: [{ age: 30 }, { age: 12 }] }), ['a']);
      assert.deepEqual(ids({ $or: [{ age: 30 }, { age: 12 }], 'address.city': 'Oslo' }), ['a']);
      assert.deepEqual(ids({ $or: [{ age: 30 }, { age: 13 }], $and: [{ tags: 'x' }], name: /e/ }), ['d']);
    });

    it('nests', () => {
      assert.deepEqual(ids({ $or: [{ $and: [{ age: { $gte: 12 } }, { age: { $lte: 12 } }] }, { $nor: [{ name: { $exists: true } }] }] }), ['b', 'e']);
    });

    it('supports field-level $or/$and/$nor over conditions', () => {
      assert.deepEqual(ids({ age: { $or: [{ $lt: 13 }, { $gt: 20 }] } }), ['a', 'b']);
      assert.deepEqual(ids({ age: { $and: [{ $gt: 11 }, 13] } }), ['d']);
      assert.deepEqual(ids({ age: { $nor: [{ $type: 'number' }] } }), ['c', 'e']);
    });
  });

  describe('errors', () => {
    function throwsValidation(q: unknown, ...words: string[]): void {
      assert.throws(
        () => compileQuery(q as QueryFilter),
        (e: unknown) => {
          assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`);
          for (const w of words) assert.ok(e.message.includes(w), `"${e.message}" should mention ${w}`);
          return true;
        },
      );
    }

    it('names an unknown operator and lists supported ones', () => {
      throwsValidation({ age: { $foo: 1 } }, '$foo', 'age', '$gte', '$elemMatch');
      throwsValidation({ $where: 'x' }, '$where', '$or');
      throwsValidation({ $or: [{ a: { $nope: 1 } }] }, '$nope');
    });

    it('rejects malformed operands', () => {
      throwsValidation({ a: { $in: 1 } }, '$in', 'array');
      throwsValidation({ a: { $nin: 'x' } }, '$nin');
      throwsValidation({ a: { $size: -1 } }, '$size');
      throwsValidation({ a: { $size: 1.5 } }, '$size');
      throwsValidation({ a: { $all: 'x' } }, '$all');
      throwsValidation({ a: { $elemMatch: 3 } }, '$elemMatch');
      throwsValidation({ a: { $not: 3 } }, '$not');
      throwsValidation({ a: { $not: {} } }, '$not');
      throwsValidation({ a: { $regex: '(' } }, '$regex');
      throwsValidation({ a: { $regex: 5 } }, '$regex');
      throwsValidation({ a: { $regex: 'x', $options: 'g' } }, '$options');
      throwsValidation({ a: { $options: 'i' } }, '$options', '$regex');
      throwsValidation({ a: { $type: 'wat' } }, '$type');
      throwsValidation({ a: { $mod: [0, 1] } }, '$mod');
      throwsValidation({ $or: [] }, '$or');
      throwsValidation({ $and: {} }, '$and');
      throwsValidation({ $nor: [1] }, '$nor');
      throwsValidation({ a: { $or: 'x' } }, '$or');
    });

    it('rejects operator objects mixed with plain fields, and bad paths', () => {
      throwsValidation({ a: { $gt: 1, b: 2 } }, 'mixes');
      throwsValidation({ 'a..b': 1 }, 'a..b');
      throwsValidation({ '': 1 }, 'path');
    });
  });

  describe('compileElementPredicate', () => {
    it('covers values, regexes, operators and sub-queries', () => {
      assert.equal(compileElementPredicate(3)(3), true);
      assert.equal(compileElementPredicate(3)('3'), false);
      assert.equal(compileElementPredicate({ a: 1 })({ a: 1, b: 2 }), true);
      assert.equal(compileElementPredicate({ a: 1 })(1), false);
      assert.equal(compileElementPredicate([1])([1]), true);
      assert.equal(compileElementPredicate(/^x/)('xy'), true);
      assert.equal(compileElementPredicate({ $gte: 5 })(6), true);
      assert.equal(compileElementPredicate({ $gte: 5 })(4), false);
    });
  });

  describe('performance', () => {
    it('matches a range over 100k documents in a few milliseconds', () => {
      const docs = Array.from({ length: 100_000 }, (_, i) => ({ _id: String(i), age: i % 100, name: `n${i}` }));
      const m = compileQuery({ age: { $gte: 10, $lt: 14 } });
      let count = 0;
      for (const d of docs) if (m(d)) count++; // warm-up
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint();
        count = 0;
        for (const d of docs) if (m(d)) count++;
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      }
      assert.equal(count, 4000);
      if (process.env.SHOW_TIMINGS) console.log(`      range match over 100k docs: ${best.toFixed(2)} ms`);
      assert.ok(best < 50, `took ${best} ms`); // generous for slow CI; typically ~1-3 ms
    });
  });
});
