import assert from 'node:assert/strict';
import { getPath, getPathLeaves, getPathValues, setPath, splitPath, unsetPath } from '../../../src/engine/query/path';
import { ValidationError } from '../../../src/engine/errors';

const doc = {
  a: { b: { c: 1 } },
  tags: ['x', 'y'],
  items: [{ sku: 'A', dims: { w: 1 } }, { sku: 'B' }, 7, [{ sku: 'nested' }], { other: 1 }],
  n: null,
};

describe('query/path', () => {
  it('splitPath validates', () => {
    assert.deepEqual(splitPath('a.b.0'), ['a', 'b', '0']);
    assert.throws(() => splitPath(''), ValidationError);
    assert.throws(() => splitPath('a..b'), ValidationError);
    assert.throws(() => splitPath('.a'), ValidationError);
    assert.throws(() => splitPath(3 as unknown as string), ValidationError);
  });

  it('getPathValues returns arrays and their elements, fanning out through arrays', () => {
    assert.deepEqual(getPathValues(doc, 'a.b.c'), [1]);
    assert.deepEqual(getPathValues(doc, 'tags'), [['x', 'y'], 'x', 'y']);
    assert.deepEqual(getPathValues(doc, 'items.sku'), ['A', 'B']);
    assert.deepEqual(getPathValues(doc, 'items.dims.w'), [1]);
    assert.deepEqual(getPathValues(doc, 'items.0.sku'), ['A']);
    assert.deepEqual(getPathValues(doc, 'tags.1'), ['y']);
    assert.deepEqual(getPathValues(doc, 'missing'), []);
    assert.deepEqual(getPathValues(doc, 'n'), [null]);
    assert.deepEqual(getPathValues(doc, 'a.b.c.d'), []);
    assert.deepEqual(getPathValues(doc, 'constructor'), []);
  });

  it('getPathLeaves reports missing branches as undefined and does not unwrap arrays', () => {
    assert.deepEqual(getPathLeaves(doc, 'tags'), [['x', 'y']]);
    assert.deepEqual(getPathLeaves(doc, 'items.sku'), ['A', 'B', undefined]);
  });

  it('getPath reads one plain value', () => {
    assert.equal(getPath(doc, 'a.b.c'), 1);
    assert.equal(getPath(doc, 'items.1.sku'), 'B');
    assert.equal(getPath(doc, 'items.sku'), undefined);
    assert.deepEqual(getPath(doc, 'tags'), ['x', 'y']);
    assert.equal(getPath(doc, ['a', 'b']), doc.a.b);
    assert.equal(getPath(doc, 'toString'), undefined);
    assert.equal(getPath(doc, 'n.x'), undefined);
  });

  it('setPath creates intermediate objects and pads arrays with null', () => {
    const o: Record<string, unknown> = { list: [1] };
    setPath(o, 'x.y.z', 5);
    setPath(o, 'list.3', 4);
    setPath(o, 'list.0', 0);
    assert.deepEqual(o, { list: [0, null, null, 4], x: { y: { z: 5 } } });
  });

  it('setPath refuses to write through scalars and non-index array segments', () => {
    assert.throws(() => setPath({ a: 5 }, 'a.b', 1), (e: unknown) => e instanceof ValidationError && /a number/.test(e.message));
    assert.throws(() => setPath({ a: null }, 'a.b', 1), ValidationError);
    assert.throws(() => setPath({ a: [] }, 'a.b', 1), ValidationError);
    assert.throws(() => setPath({ a: [] }, 'a.$.b', 1), (e: unknown) => e instanceof ValidationError && /positional/.test(e.message));
  });

  it('setPath writes a "__proto__" segment as an own field, never a prototype', () => {
    const o: Record<string, unknown> = {};
    setPath(o, '__proto__.polluted', 1);
    setPath(o, 'a.__proto__', 2);
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, { polluted: 1 });
    assert.equal(Object.getOwnPropertyDescriptor(o.a, '__proto__')?.value, 2);
    assert.equal(JSON.stringify(o), '{"__proto__":{"polluted":1},"a":{"__proto__":2}}');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(unsetPath(o, '__proto__.polluted'), true);
    assert.equal(unsetPath(o, 'a.__proto__'), true);
    assert.equal(JSON.stringify(o), '{"__proto__":{},"a":{}}');
  });

  it('unsetPath deletes object fields, nulls array elements, ignores missing paths', () => {
    const o = { a: { b: 1, c: 2 }, list: [1, 2, 3] };
    assert.equal(unsetPath(o, 'a.b'), true);
    assert.equal(unsetPath(o, 'list.1'), true);
    assert.equal(unsetPath(o, 'a.zz.q'), false);
    assert.equal(unsetPath(o, 'list.9'), false);
    assert.equal(unsetPath(o, 'list.x'), false);
    assert.deepEqual(o, { a: { c: 2 }, list: [1, null, 3] });
  });

  it('copy-on-write via adopt leaves the original untouched', () => {
    const original = Object.freeze({ a: Object.freeze({ b: Object.freeze({ c: 1 }), keep: Object.freeze({}) }) });
    const root = { ...original } as Record<string, unknown>;
    const adopt = (c: object): object => (Array.isArray(c) ? c.slice() : { ...c });
    setPath(root, 'a.b.c', 2, adopt);
    assert.deepEqual(root, { a: { b: { c: 2 }, keep: {} } });
    assert.equal(original.a.b.c, 1);
    assert.equal((root.a as Record<string, unknown>).keep, original.a.keep); // unchanged subtree shared
    const root2 = { ...original } as Record<string, unknown>;
    unsetPath(root2, 'a.b.c', adopt);
    assert.deepEqual(root2, { a: { b: {}, keep: {} } });
    assert.deepEqual(original, { a: { b: { c: 1 }, keep: {} } });
  });
});
