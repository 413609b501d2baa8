import assert from 'node:assert/strict';
import { compileSort } from '../../../src/engine/query/sort';
import { ValidationError } from '../../../src/engine/errors';

type D = { id: number; [k: string]: unknown };

describe('query/sort', () => {
  const docs: D[] = [
    { id: 1, age: 30, name: 'b', a: { x: 2 } },
    { id: 2, age: 20, name: 'a', a: { x: 1 } },
    { id: 3, name: 'c' },
    { id: 4, age: 30, name: 'a', a: { x: 3 } },
    { id: 5, age: null, name: 'd' },
    { id: 6, age: '25', name: 'e' },
  ];
  const order = (spec: Record<string, unknown>): number[] => docs.slice().sort(compileSort<D>(spec)).map((d) => d.id);

  it('sorts ascending with missing first, then null, numbers, strings', () => {
    assert.deepEqual(order({ age: 1 }), [3, 5, 2, 1, 4, 6]);
  });

  it('sorts descending with missing last', () => {
    assert.deepEqual(order({ age: -1 }), [6, 1, 4, 2, 5, 3]);
    assert.deepEqual(order({ age: 'desc' }), [6, 1, 4, 2, 5, 3]);
  });

  it('uses later keys to break ties, and dot paths', () => {
    assert.deepEqual(order({ age: -1, name: 1 }), [6, 4, 1, 2, 5, 3]);
    assert.deepEqual(order({ 'a.x': -1 }), [4, 1, 2, 3, 5, 6]);
  });

  it('is stable for equal keys', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ id: i, g: i % 3 }));
    const sorted = many.slice().sort(compileSort({ g: 1 }));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].g === sorted[i - 1].g) assert.ok(sorted[i].id > sorted[i - 1].id);
    }
  });

  it('returns 0 for no sort, and rejects bad specs', () => {
    assert.deepEqual(order({}), [1, 2, 3, 4, 5, 6]);
    assert.equal(compileSort(undefined)(1, 2), 0);
    assert.throws(() => compileSort({ a: 2 }), ValidationError);
    assert.throws(() => compileSort({ a: 'up' }), ValidationError);
    assert.throws(() => compileSort({ 'a..b': 1 }), ValidationError);
    assert.throws(() => compileSort('a' as unknown as Record<string, unknown>), ValidationError);
  });
});
