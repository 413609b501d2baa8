import { strict as assert } from 'node:assert';
import type { Doc } from '../../src/engine';
import { parseGridMessage } from '../../src/extension/queries/grid-protocol';
import { cellOf, ResultSet } from '../../src/extension/queries/result-set';

const DOCS = [
  { _id: 'b', title: 'beta', rank: 2, tags: ['x'] },
  { _id: 'a', title: 'alpha', rank: 10, meta: { by: 'ann' } },
  { _id: 'c', rank: null, done: true },
];

describe('query results grid: the result set and the page\'s messages', () => {
  it('a column per top-level field, _id first, then as first seen; cells typed, missing ones marked', () => {
    const r = new ResultSet(DOCS);
    assert.deepEqual(r.columns, ['_id', 'title', 'rank', 'tags', 'meta', 'done']);
    assert.equal(r.total, 3);
    const [b, a, c] = r.rows(0, 10);
    assert.equal(b.id, 'b');
    assert.deepEqual(b.cells.map((x) => x.kind), ['string', 'string', 'number', 'array', 'missing', 'missing']);
    assert.deepEqual(a.cells[4], { kind: 'object', text: '{"by":"ann"}' });
    assert.deepEqual(c.cells.slice(2, 3).concat(c.cells[5]), [{ kind: 'null', text: 'null' }, { kind: 'boolean', text: 'true' }]);
    assert.deepEqual(r.rows(1, 1).map((x) => x.id), ['a']);
    assert.deepEqual(r.rows(5, 10), []);
    assert.deepEqual(cellOf(undefined), { kind: 'missing', text: '' });
  });

  it('sorts by a column with the engine\'s comparator: ascending, descending, then the query\'s order', () => {
    const r = new ResultSet(DOCS);
    assert.deepEqual(r.toggleSort('rank'), { column: 'rank', dir: 1 });
    assert.deepEqual(r.rows(0, 3).map((x) => x.id), ['c', 'b', 'a'], 'null sorts before numbers');
    assert.deepEqual(r.toggleSort('rank'), { column: 'rank', dir: -1 });
    assert.deepEqual(r.rows(0, 3).map((x) => x.id), ['a', 'b', 'c']);
    assert.equal(r.toggleSort('rank'), null);
    assert.deepEqual(r.rows(0, 3).map((x) => x.id), ['b', 'a', 'c']);
    assert.deepEqual(r.toggleSort('title'), { column: 'title', dir: 1 });
    assert.deepEqual(r.documents().map((d) => d._id), ['c', 'a', 'b'], 'a missing title sorts first');
  });

  it('a projection without _id gives rows without an id', () => {
    const r = new ResultSet([{ title: 'x' } as unknown as Doc]);
    assert.deepEqual(r.columns, ['title']);
    assert.equal(r.rows(0, 1)[0].id, null);
  });

  it('accepts only the messages the page may send', () => {
    assert.deepEqual(parseGridMessage({ type: 'rows', view: 2, offset: 200, count: 200 }), { type: 'rows', view: 2, offset: 200, count: 200 });
    assert.deepEqual(parseGridMessage({ type: 'open', id: 'a', extra: 1 }), { type: 'open', id: 'a' });
    for (const bad of [null, 'ready', { type: 'rows', view: -1, offset: 0, count: 1 }, { type: 'rows', view: 1, offset: 0, count: 1e6 }, { type: 'createIndex', field: '' }, { type: 'sort' }, { type: 'eval', code: 'x' }]) {
      assert.equal(parseGridMessage(bad), null, JSON.stringify(bad));
    }
  });
});
