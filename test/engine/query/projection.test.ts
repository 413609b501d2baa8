import assert from 'node:assert/strict';
import { compileProjection } from '../../../src/engine/query/projection';
import { ValidationError } from '../../../src/engine/errors';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

const doc = deepFreeze({
  name: 'Ann',
  _id: 'id1',
  secret: 'pw',
  address: { city: 'Oslo', zip: '0150', geo: { lat: 1, lng: 2 } },
  items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }, 5],
});

describe('query/projection', () => {
  it('includes listed paths plus _id first', () => {
    assert.deepEqual(compileProjection({ name: 1, 'address.city': 1 })(doc), { _id: 'id1', name: 'Ann', address: { city: 'Oslo' } });
    assert.deepEqual(Object.keys(compileProjection({ name: 1, secret: true })(doc)), ['_id', 'name', 'secret']);
  });

  it('can drop _id from an inclusion', () => {
    assert.deepEqual(compileProjection({ _id: 0, name: 1 })(doc), { name: 'Ann' });
  });

  it('projects through arrays of objects', () => {
    assert.deepEqual(compileProjection({ 'items.sku': 1, _id: 0 })(doc), { items: [{ sku: 'A' }, { sku: 'B' }] });
    assert.deepEqual(compileProjection({ 'items.sku': 0, address: 0, secret: 0 })(doc), { name: 'Ann', _id: 'id1', items: [{ qty: 1 }, { qty: 2 }, 5] });
  });

  it('excludes listed paths', () => {
    assert.deepEqual(compileProjection({ secret: 0, 'address.geo': 0, items: 0 })(doc), { name: 'Ann', _id: 'id1', address: { city: 'Oslo', zip: '0150' } });
    assert.deepEqual(compileProjection({ _id: 0 })(doc), { name: 'Ann', secret: 'pw', address: doc.address, items: doc.items });
    assert.deepEqual(compileProjection({ _id: 1, secret: 0 })(doc).secret, undefined);
  });

  it('{ _id: 1 } alone keeps only _id', () => {
    assert.deepEqual(compileProjection({ _id: 1 })(doc), { _id: 'id1' });
  });

  it('omits missing paths', () => {
    assert.deepEqual(compileProjection({ nope: 1, 'address.nope': 1, 'name.x': 1 })(doc), { _id: 'id1', address: {} });
  });

  it('returns deep copies that can be mutated', () => {
    for (const p of [undefined, {}, { address: 1 }, { secret: 0 }]) {
      const out = compileProjection(p)(doc);
      assert.ok(!Object.isFrozen(out));
      assert.notEqual(out.address, doc.address);
      (out.address as Record<string, unknown>).city = 'X';
    }
    assert.equal(doc.address.city, 'Oslo');
  });

  it('rejects mixing, bad values and path collisions', () => {
    assert.throws(() => compileProjection({ a: 1, b: 0 }), (e: unknown) => e instanceof ValidationError && /mix/.test(e.message));
    assert.throws(() => compileProjection({ a: { $slice: 1 } }), ValidationError);
    assert.throws(() => compileProjection({ a: 2 }), ValidationError);
    assert.throws(() => compileProjection({ a: 1, 'a.b': 1 }), ValidationError);
    assert.throws(() => compileProjection({ 'a.b': 1, a: 1 }), ValidationError);
    assert.throws(() => compileProjection('a' as unknown as Record<string, unknown>), ValidationError);
  });
});
