/** exportJson / importJson / exportCsv. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { UniqueConstraintError, ValidationError } from '../../../src/engine';
import { ids, useTmpDb } from './tmpdb';

const SAMPLE = [
  { _id: 'a', name: 'Ada', tags: ['x', 'y'], address: { city: 'London', geo: { lat: 51.5 } }, n: 1, nil: null },
  { _id: 'b', name: 'Bob "the builder"', text: 'line1\nline2\ttab \u00e9 \u{1F600}', n: -2.5 },
  { _id: 'c', empty: {}, list: [] },
];

describe('api: import and export', () => {
  const t = useTmpDb();

  async function seeded() {
    const c = await t.db.collection('src');
    await c.insertMany(SAMPLE);
    await c.update('a', { n: 2 });
    return c;
  }

  describe('JSON round trip', () => {
    it('exportJson writes a JSON array that importJson reads back identically', async () => {
      const src = await seeded();
      const file = t.file('out.json');
      assert.equal(await src.exportJson(file), 3);
      const text = fs.readFileSync(file, 'utf8');
      const docs = await src.getAll();
      assert.equal(text, JSON.stringify(docs, null, 2) + '\n');
      const copy = await t.db.collection('copy');
      assert.equal(await copy.importJson(file), 3);
      assert.deepEqual(await copy.getAll(), docs, 'same documents, timestamps included');
      const db = await t.reopen();
      assert.deepEqual(await (await db.collection('copy')).getAll(), docs);
    });

    it('exportJson with format jsonl writes one document a line, and importJson reads it', async () => {
      const src = await seeded();
      const file = t.file('out.jsonl');
      assert.equal(await src.exportJson(file, { format: 'jsonl' }), 3);
      const text = fs.readFileSync(file, 'utf8');
      const docs = await src.getAll();
      assert.equal(text, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
      const copy = await t.db.collection('copy');
      assert.equal(await copy.importJson(file), 3);
      assert.deepEqual(await copy.getAll(), docs);
    });

    it('JSON Lines with CRLF and blank lines is accepted', async () => {
      const file = t.file('in.jsonl');
      fs.writeFileSync(file, '{"_id":"1","v":1}\r\n\r\n{"_id":"2","v":2}\r\n');
      const c = await t.db.collection('c');
      assert.equal(await c.importJson(file), 2);
      assert.deepEqual(ids(await c.getAll()), ['1', '2']);
    });

    it('a UTF-8 byte order mark at the start of the file is accepted', async () => {
      const c = await t.db.collection('c');
      const file = t.file('bom.json');
      fs.writeFileSync(file, '\uFEFF[{"_id":"1","name":"ünï"}]');
      assert.equal(await c.importJson(file), 1);
      assert.equal((await c.getById('1'))!.name, 'ünï');
    });

    it('an empty collection exports [] (or nothing as JSON Lines) and imports 0 documents', async () => {
      const c = await t.db.collection('empty');
      const json = t.file('e.json');
      const jsonl = t.file('e.jsonl');
      assert.equal(await c.exportJson(json), 0);
      assert.equal(await c.exportJson(jsonl, { format: 'jsonl' }), 0);
      assert.equal(fs.readFileSync(json, 'utf8'), '[]\n');
      assert.equal(fs.readFileSync(jsonl, 'utf8'), '');
      const other = await t.db.collection('other');
      assert.equal(await other.importJson(json), 0);
      assert.equal(await other.importJson(jsonl), 0);
      assert.equal(await other.count(), 0);
    });

    it('imported documents without _id or timestamps get them', async () => {
      const file = t.file('in.json');
      fs.writeFileSync(file, JSON.stringify([{ name: 'x' }, { _id: 'given', name: 'y', createdAt: '2020-01-01T00:00:00.000Z' }]));
      const c = await t.db.collection('c');
      assert.equal(await c.importJson(file), 2);
      const all = await c.getAll();
      assert.equal(typeof all[0]._id, 'string');
      assert.equal(typeof all[0].createdAt, 'string');
      assert.equal(typeof all[0].updatedAt, 'string');
      assert.equal(all[1]._id, 'given');
      assert.equal(all[1].createdAt, '2020-01-01T00:00:00.000Z');
    });
  });

  describe('modes', () => {
    it('append (the default) adds to the existing documents', async () => {
      const c = await t.db.collection('c');
      await c.insert({ _id: 'old' });
      const file = t.file('in.json');
      fs.writeFileSync(file, JSON.stringify([{ _id: 'n1' }, { _id: 'n2' }]));
      assert.equal(await c.importJson(file), 2);
      assert.deepEqual(ids(await c.getAll()), ['n1', 'n2', 'old']);
      fs.writeFileSync(file, JSON.stringify([{ _id: 'n3' }]));
      assert.equal(await c.importJson(file, { mode: 'append' }), 1);
      assert.deepEqual(ids(await c.getAll()), ['n1', 'n2', 'n3', 'old']);
    });

    it('replace empties the collection first (ids may repeat the old ones), durably', async () => {
      const c = await t.db.collection('c');
      await c.createIndex('k', { unique: true });
      await c.insertMany([{ _id: 'old1', k: 1 }, { _id: 'keep-id', k: 2 }]);
      const file = t.file('in.json');
      fs.writeFileSync(file, JSON.stringify([{ _id: 'keep-id', k: 1 }, { _id: 'new', k: 3 }]));
      assert.equal(await c.importJson(file, { mode: 'replace' }), 2);
      assert.deepEqual(ids(await c.getAll()), ['keep-id', 'new']);
      assert.equal((await c.getById('keep-id'))!.k, 1);
      assert.deepEqual(await c.getIndexes(), [{ fieldName: 'k', type: 'unique' }]);
      const c2 = await (await t.reopen()).collection('c');
      assert.deepEqual(ids(await c2.getAll()), ['keep-id', 'new']);
      await assert.rejects(c2.insert({ k: 3 }), UniqueConstraintError);
    });

    it('rejects an unknown mode', async () => {
      const c = await t.db.collection('c');
      const file = t.file('in.json');
      fs.writeFileSync(file, '[]');
      await assert.rejects(c.importJson(file, { mode: 'merge' as 'append' }), ValidationError);
    });
  });

  describe('bad input changes nothing', () => {
    async function expectNoChange(content: string, mode: 'append' | 'replace', check: (err: unknown) => boolean): Promise<void> {
      const c = await t.db.collection('c');
      if ((await c.count()) === 0) {
        await c.createIndex('email', { unique: true });
        await c.insertMany([{ _id: 'dup', email: 'a@x' }, { _id: 'other', email: 'b@x' }]);
      }
      const before = await c.getAll();
      const wal = t.walBytes();
      const file = t.file('bad.json');
      fs.writeFileSync(file, content);
      await assert.rejects(c.importJson(file, { mode }), check);
      assert.equal(t.walBytes(), wal, 'the log did not grow');
      assert.deepEqual(await c.getAll(), before);
    }

    it('a file that is not JSON', async () => {
      await expectNoChange('this is not json', 'append', (e) => e instanceof ValidationError);
      await expectNoChange('[{"_id":"n1"},', 'replace', (e) => e instanceof ValidationError);
      await expectNoChange('{"_id":"n1"}\n{"_id":', 'append', (e) => e instanceof ValidationError);
    });

    it('an item that is not an object', async () => {
      await expectNoChange('[{"_id":"n1"}, 5]', 'append', (e) => e instanceof ValidationError);
      await expectNoChange('[{"_id":"n1"}, [1]]', 'replace', (e) => e instanceof ValidationError);
      await expectNoChange('{"_id":"n1"}\n"text"\n', 'append', (e) => e instanceof ValidationError);
      await expectNoChange('[{"_id":"n1"}, null]', 'append', (e) => e instanceof ValidationError);
      await expectNoChange('[{"_id":5}]', 'append', (e) => e instanceof ValidationError);
    });

    it('a duplicate _id in append mode', async () => {
      await expectNoChange('[{"_id":"n1"},{"_id":"dup"},{"_id":"n3"}]', 'append', (e) => e instanceof UniqueConstraintError && e.fieldName === '_id' && e.value === 'dup');
    });

    it('a duplicate _id inside the file, in either mode (replace does not clear the collection)', async () => {
      await expectNoChange('[{"_id":"x"},{"_id":"x"}]', 'append', (e) => e instanceof UniqueConstraintError);
      await expectNoChange('[{"_id":"x"},{"_id":"x"}]', 'replace', (e) => e instanceof UniqueConstraintError);
    });

    it('a unique index violation', async () => {
      await expectNoChange('[{"_id":"n1","email":"a@x"}]', 'append', (e) => e instanceof UniqueConstraintError && e.fieldName === 'email');
      await expectNoChange('[{"_id":"n1","email":"z@x"},{"_id":"n2","email":"z@x"}]', 'replace', (e) => e instanceof UniqueConstraintError && e.fieldName === 'email');
    });

    it('a missing file', async () => {
      const c = await t.db.collection('c');
      await assert.rejects(c.importJson(t.file('does-not-exist.json')), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
      assert.equal(await c.count(), 0);
    });

    it('and nothing is imported after a reopen either', async () => {
      await expectNoChange('[{"_id":"n1"},{"_id":"dup"}]', 'append', (e) => e instanceof UniqueConstraintError);
      const c = await (await t.reopen()).collection('c');
      assert.deepEqual(ids(await c.getAll()), ['dup', 'other']);
    });
  });

  describe('exportCsv', () => {
    const TS1 = '2024-01-01T00:00:00.000Z';
    const TS2 = '2024-01-02T00:00:00.000Z';
    const ROWS = [
      { _id: '1', name: 'Smith, John', note: 'He said "hi"', address: { city: 'Oslo', zip: '0150' }, tags: ['a', 'b'], n: 42, flag: true, createdAt: TS1, updatedAt: TS2 },
      { _id: '2', name: 'Multi\nLine', note: '', n: -1.5, flag: false, nothing: null, createdAt: TS1, updatedAt: TS1 },
      { _id: '3', name: 'plain', note: '=1+2', extra: 'cr\rhere', createdAt: TS2, updatedAt: TS2 },
    ];

    async function withRows() {
      // Imported documents keep their timestamps, so the whole CSV is known in advance.
      const file = t.file('rows.json');
      fs.writeFileSync(file, JSON.stringify(ROWS));
      const c = await t.db.collection('csv');
      await c.importJson(file);
      return c;
    }

    it('escapes commas, quotes and newlines and writes objects as JSON (exact output)', async () => {
      const c = await withRows();
      const file = t.file('out.csv');
      assert.equal(await c.exportCsv(file), 3);
      const expected = [
        '_id,name,note,address,tags,n,flag,createdAt,updatedAt,nothing,extra',
        `1,"Smith, John","He said ""hi""","{""city"":""Oslo"",""zip"":""0150""}","[""a"",""b""]",42,true,${TS1},${TS2},,`,
        `2,"Multi\nLine",,,,-1.5,false,${TS1},${TS1},,`,
        `3,plain,=1+2,,,,,${TS2},${TS2},,"cr\rhere"`,
      ].join('\r\n');
      assert.equal(fs.readFileSync(file, 'utf8'), expected);
    });

    it('writes only the given fields, dot paths included (exact output)', async () => {
      const c = await withRows();
      const file = t.file('fields.csv');
      assert.equal(await c.exportCsv(file, { fields: ['name', 'address.city', 'tags', 'missing', 'n'] }), 3);
      const expected = [
        'name,address.city,tags,missing,n',
        '"Smith, John",Oslo,"[""a"",""b""]",,42',
        '"Multi\nLine",,,,-1.5',
        'plain,,,,',
      ].join('\r\n');
      assert.equal(fs.readFileSync(file, 'utf8'), expected);
    });

    it('an empty collection exports an empty file, or just the header with fields', async () => {
      const c = await t.db.collection('none');
      const file = t.file('empty.csv');
      assert.equal(await c.exportCsv(file), 0);
      assert.equal(fs.readFileSync(file, 'utf8'), '');
      await c.exportCsv(file, { fields: ['a', 'b,c'] });
      assert.equal(fs.readFileSync(file, 'utf8'), 'a,"b,c"');
    });

    it('does not export expired documents', async () => {
      const c = await withRows();
      await c.insert({ _id: '4', name: 'ghost', expireAt: Date.now() - 1000 });
      const file = t.file('ttl.csv');
      assert.equal(await c.exportCsv(file, { fields: ['_id'] }), 3);
      assert.equal(fs.readFileSync(file, 'utf8'), '_id\r\n1\r\n2\r\n3');
    });
  });
});
