import assert from 'node:assert/strict';
import { cloneJson, compareValues, deepEqual, sameTypeClass, typeRank, valueKey } from '../../../src/engine/query/values';

describe('query/values', () => {
  it('orders type classes like MongoDB', () => {
    const ordered = [undefined, null, -1, 0, 2.5, '', 'a', 'b', {}, { a: 1 }, [], [1], false, true];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const c = Math.sign(compareValues(ordered[i], ordered[j]));
        assert.equal(c, Math.sign(i - j), `${JSON.stringify(ordered[i])} vs ${JSON.stringify(ordered[j])}`);
      }
    }
  });

  it('compares numbers numerically with NaN first, strings by code unit', () => {
    assert.ok(compareValues(2, 10) < 0);
    assert.ok(compareValues('10', '2') < 0);
    assert.ok(compareValues('B', 'a') < 0);
    assert.equal(compareValues(0, -0), 0);
    assert.ok(compareValues(NaN, -Infinity) < 0);
    assert.equal(compareValues(NaN, NaN), 0);
    assert.ok(compareValues(Infinity, NaN) > 0);
  });

  it('compares arrays element-wise then by length, objects by sorted keys', () => {
    assert.ok(compareValues([1, 2], [1, 3]) < 0);
    assert.ok(compareValues([1, 2], [1, 2, 0]) < 0);
    assert.ok(compareValues([2], [1, 9]) > 0);
    assert.equal(compareValues({ a: 1, b: 2 }, { b: 2, a: 1 }), 0);
    assert.ok(compareValues({ a: 1 }, { a: 2 }) < 0);
    assert.ok(compareValues({ a: 1 }, { b: 0 }) < 0);
    assert.ok(compareValues({ a: 1 }, { a: 1, b: 0 }) < 0);
  });

  it('treats Dates as their ISO strings', () => {
    const d = new Date('2024-01-02T03:04:05.000Z');
    assert.equal(compareValues(d, '2024-01-02T03:04:05.000Z'), 0);
    assert.ok(compareValues(d, '2025') < 0);
    assert.equal(typeRank(d), typeRank('x'));
    assert.ok(deepEqual(d, '2024-01-02T03:04:05.000Z'));
    assert.ok(deepEqual({ at: d }, { at: '2024-01-02T03:04:05.000Z' }));
    assert.equal(valueKey(d), valueKey('2024-01-02T03:04:05.000Z'));
  });

  it('deepEqual: structural, key-order-insensitive, type-strict', () => {
    assert.ok(deepEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1, { b: 2 }] }));
    assert.ok(!deepEqual(1, '1'));
    assert.ok(!deepEqual([1], { 0: 1 }));
    assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!deepEqual({ a: 1, b: 2 }, { a: 1 }));
    assert.ok(deepEqual({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(!deepEqual(null, {}));
    assert.ok(!deepEqual([1, 2], [2, 1]));
    assert.ok(deepEqual(NaN, NaN));
  });

  it('valueKey agrees with deepEqual', () => {
    const values: unknown[] = [undefined, null, 0, -0, 1, '1', 'n1', true, false, 'true', [], {}, [1, '1'], ['1', 1], { a: 1, b: [2] }, { b: [2], a: 1 }, '', 's'];
    for (const a of values) {
      for (const b of values) {
        assert.equal(valueKey(a) === valueKey(b), deepEqual(a, b), `${String(valueKey(a))} / ${String(valueKey(b))}`);
      }
    }
  });

  it('sameTypeClass groups null with missing', () => {
    assert.ok(sameTypeClass(null, undefined));
    assert.ok(sameTypeClass(1, 2.5));
    assert.ok(!sameTypeClass(1, '1'));
    assert.ok(!sameTypeClass([], {}));
  });

  it('cloneJson deep-copies to JSON shapes', () => {
    const src = { a: [1, { b: 2 }, undefined], d: new Date(0), u: undefined, n: null };
    const copy = cloneJson(src) as Record<string, unknown>;
    assert.deepEqual(copy, { a: [1, { b: 2 }, null], d: '1970-01-01T00:00:00.000Z', n: null });
    assert.notEqual(copy.a, src.a);
    assert.notEqual((copy.a as unknown[])[1], src.a[1]);
    const proto = cloneJson(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(proto), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
