import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Doc } from '../../src/engine';
import { toCsv } from '../../src/engine/export/csv';
import { exportResults, ExportCancelledError } from '../../src/extension/queries/export-results';

const DOCS: Doc[] = Array.from({ length: 5001 }, (_, i) => ({ _id: `d${i}`, title: i % 7 ? `note ${i}` : 'with "quotes", commas\nand lines', n: i, tags: i % 2 ? ['a'] : [] }));

describe('query results: export to a file in parts', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-export-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('JSON, JSON Lines and CSV hold every document, in order; progress after each part', async () => {
    const progress: number[] = [];
    const json = path.join(dir, 'r.json');
    assert.equal(await exportResults(DOCS, ['_id', 'title', 'n', 'tags'], 'json', json, { onProgress: (n, total) => { assert.equal(total, DOCS.length); progress.push(n); } }), DOCS.length);
    assert.deepEqual(JSON.parse(fs.readFileSync(json, 'utf8')), DOCS);
    assert.deepEqual(progress, [2000, 4000, 5001]);
    const jsonl = path.join(dir, 'r.jsonl');
    await exportResults(DOCS, [], 'jsonl', jsonl);
    const lines = fs.readFileSync(jsonl, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(lines.map((l) => JSON.parse(l)), DOCS);
    const csv = path.join(dir, 'r.csv');
    await exportResults(DOCS, ['_id', 'title', 'n', 'tags'], 'csv', csv);
    assert.equal(fs.readFileSync(csv, 'utf8'), toCsv(DOCS, ['_id', 'title', 'n', 'tags']) + '\r\n');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['r.csv', 'r.json', 'r.jsonl'], 'no temporary file left');
  });

  it('no documents: an empty JSON array, an empty JSON Lines file, a CSV header', async () => {
    await exportResults([], ['_id'], 'json', path.join(dir, 'e.json'));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'e.json'), 'utf8')), []);
    await exportResults([], ['_id', 'a b'], 'csv', path.join(dir, 'e.csv'));
    assert.equal(fs.readFileSync(path.join(dir, 'e.csv'), 'utf8'), '_id,a b\r\n');
  });

  it('an abort between parts leaves the old file as it was and no temporary file', async () => {
    const file = path.join(dir, 'keep.json');
    fs.writeFileSync(file, 'the old export');
    const abort = new AbortController();
    await assert.rejects(
      exportResults(DOCS, [], 'json', file, { signal: abort.signal, onProgress: (n) => { if (n >= 2000) abort.abort(); } }),
      (err: unknown) => err instanceof ExportCancelledError && err.code === 'EXPORT_CANCELLED' && /nothing was written there/.test(err.message),
    );
    assert.equal(fs.readFileSync(file, 'utf8'), 'the old export');
    assert.deepEqual(fs.readdirSync(dir), ['keep.json']);
  });

  it('a folder that cannot be written: the error, and nothing left behind', async () => {
    await assert.rejects(exportResults(DOCS, [], 'json', path.join(dir, 'missing', 'r.json')), /ENOENT/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
