import assert from 'node:assert/strict';
import { conditionAccepts, indexableConditions, rangeAccepts } from '../../../src/engine/query/plan';

function plan(q: unknown): Record<string, unknown> {
  return Object.fromEntries(indexableConditions(q));
}

describe('query/plan', () => {
  it('extracts equality on primitives, $eq and $in', () => {
    assert.deepEqual(plan({ a: 1, b: 'x', c: true }), { a: { eq: [1] }, b: { eq: ['x'] }, c: { eq: [true] } });
    assert.deepEqual(plan({ a: { $eq: 2 } }), { a: { eq: [2] } });
    assert.deepEqual(plan({ a: { $in: [1, 2, 1, '1'] } }), { a: { eq: [1, 2, '1'] } });
    assert.deepEqual(plan({ a: { $in: [] } }), { a: { eq: [] } });
    assert.deepEqual(plan({ 'address.city': 'Oslo' }), { 'address.city': { eq: ['Oslo'] } });
    assert.deepEqual(plan({ at: new Date(0) }), { at: { eq: ['1970-01-01T00:00:00.000Z'] } });
  });

  it('skips what an index cannot certainly answer', () => {
    assert.deepEqual(plan({ a: null }), {});
    assert.deepEqual(plan({ a: { $eq: null } }), {});
    assert.deepEqual(plan({ a: { b: 1 } }), {});
    assert.deepEqual(plan({ a: [1] }), {});
    assert.deepEqual(plan({ a: /x/ }), {});
    assert.deepEqual(plan({ a: { $in: [1, null] } }), {});
    assert.deepEqual(plan({ a: { $in: [1, /x/] } }), {});
    assert.deepEqual(plan({ a: { $ne: 1 } }), {});
    assert.deepEqual(plan({ a: { $nin: [1] } }), {});
    assert.deepEqual(plan({ a: { $not: { $gt: 1 } } }), {});
    assert.deepEqual(plan({ a: { $exists: true } }), {});
    assert.deepEqual(plan({ $or: [{ a: 1 }, { b: 2 }] }), {});
    assert.deepEqual(plan({ $nor: [{ a: 1 }] }), {});
    assert.deepEqual(plan({ a: { $elemMatch: { $eq: 1 } } }), {});
    assert.deepEqual(plan({ a: { $gt: null } }), {});
    assert.deepEqual(plan(() => true), {});
    assert.deepEqual(plan(undefined), {});
  });

  it('extracts ranges with bounds of one type class', () => {
    assert.deepEqual(plan({ age: { $gte: 10, $lt: 14 } }), { age: { gte: 10, lt: 14 } });
    assert.deepEqual(plan({ name: { $gt: 'a', $lte: 'm' } }), { name: { gt: 'a', lte: 'm' } });
    assert.deepEqual(plan({ age: { $gt: 5, $lt: 'z' } }), { age: { gt: 5 } });
    assert.deepEqual(plan({ age: { $gt: 5, $ne: 7 } }), { age: { gt: 5 } });
    assert.deepEqual(plan({ age: { $gt: {} } }), {});
  });

  it('reads the items of a top-level $and (recursively) and prefers equality', () => {
    assert.deepEqual(plan({ $and: [{ a: 1 }, { $and: [{ b: { $lt: 3 } }] }], c: 'x' }), { a: { eq: [1] }, b: { lt: 3 }, c: { eq: ['x'] } });
    assert.deepEqual(plan({ a: { $gt: 1 }, $and: [{ a: 5 }] }), { a: { eq: [5] } });
    assert.deepEqual(plan({ a: { $in: [1, 2] }, $and: [{ a: 3 }] }), { a: { eq: [1, 2] } }); // first kept, never intersected
    assert.deepEqual(plan({ a: { $gt: 1 }, $and: [{ a: { $lt: 0 } }] }), { a: { gt: 1 } });
  });

  it('conditionAccepts / rangeAccepts use same-class comparison', () => {
    assert.ok(rangeAccepts({ gte: 10, lt: 14 }, 10));
    assert.ok(!rangeAccepts({ gte: 10, lt: 14 }, 14));
    assert.ok(!rangeAccepts({ gte: 10 }, '20'));
    assert.ok(!rangeAccepts({ gte: 10 }, undefined));
    assert.ok(rangeAccepts({ lte: 'b' }, 'a'));
    assert.ok(conditionAccepts({ eq: [1, 'x'] }, 'x'));
    assert.ok(!conditionAccepts({ eq: [1] }, '1'));
  });
});
