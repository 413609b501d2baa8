import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { childFields, describeFields, sampleFields } from '../../src/extension/schema/field-sample';

describe('schema: a sample of a collection\'s fields', () => {
  it('samples a collection\'s field paths, most common first, with their types and how often each occurs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-field-sample-'));
    const db = new WiseJSON(dir);
    try {
      const notes = await db.collection('notes');
      await notes.insertMany([
        { _id: 'a', title: 'a', meta: { by: 'ann', tags: ['x'] } },
        { _id: 'b', title: 'b', meta: { by: 'bob' }, rank: 2 },
        { _id: 'c', title: 3, meta: null },
      ]);
      const { fields, sampled } = await sampleFields(notes);
      assert.equal(sampled, 3);
      const byPath = Object.fromEntries(fields.map((f) => [f.path, f]));
      assert.deepEqual(byPath.title, { path: 'title', count: 3, types: ['number', 'string'], typeCounts: { string: 2, number: 1 } });
      assert.deepEqual(byPath['meta.by'], { path: 'meta.by', count: 2, types: ['string'], typeCounts: { string: 2 } });
      assert.deepEqual(byPath['meta.tags'], { path: 'meta.tags', count: 1, types: ['array'], typeCounts: { array: 1 } });
      assert.deepEqual(byPath.meta.typeCounts, { object: 2, null: 1 });
      assert.equal(fields[0].count, 3);
      assert.ok(fields.findIndex((f) => f.path === 'rank') > fields.findIndex((f) => f.path === 'meta.by'));
      assert.equal((await sampleFields(notes, 1)).sampled, 1, 'reads at most the sample size');
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists the fields directly under a field, for the tree', () => {
    const fields = describeFields([{ a: 1, o: { x: 1, y: { z: 1 } } }, { o: { x: 2 } }]);
    assert.deepEqual(childFields(fields).map((f) => f.path), ['o', 'a']);
    assert.deepEqual(childFields(fields, 'o').map((f) => f.path), ['o.x', 'o.y']);
    assert.deepEqual(childFields(fields, 'o.y').map((f) => f.path), ['o.y.z']);
    assert.deepEqual(childFields(fields, 'a'), []);
  });
});
