// better-sqlite3, WAL journal, synchronous=FULL: every commit fsyncs the WAL.
// Documents live as JSON text; `age` is a VIRTUAL generated column (json_extract) so it can be indexed.
// The API is synchronous, so "concurrent" writes are simply executed one after another,
// each in its own fsync'ed transaction (no group commit).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default {
  name: 'sqlite',
  async open(dir) {
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, 'bench.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE IF NOT EXISTS docs (
      id   TEXT PRIMARY KEY,
      body TEXT NOT NULL,
      age  INTEGER GENERATED ALWAYS AS (json_extract(body, '$.age')) VIRTUAL
    )`);
    const ins = db.prepare('INSERT INTO docs (id, body) VALUES (?, ?)');
    const get = db.prepare('SELECT body FROM docs WHERE id = ?').pluck();
    const range = db.prepare('SELECT body FROM docs WHERE age >= ? AND age < ?').pluck();
    const upd = db.prepare('UPDATE docs SET body = json_set(body, ?, ?) WHERE id = ?');
    const cnt = db.prepare('SELECT count(*) FROM docs').pluck();
    const insertTx = db.transaction((docs) => { for (const d of docs) ins.run(d._id, JSON.stringify(d)); });
    return {
      async insert(doc) { ins.run(doc._id, JSON.stringify(doc)); return doc; },
      async insertMany(docs) { insertTx(docs); return docs; },
      async getById(id) { const b = get.get(id); return b === undefined ? null : JSON.parse(b); },
      async findAgeRange(lo, hi) { return range.all(lo, hi).map((b) => JSON.parse(b)); },
      async createAgeIndex() { db.exec('CREATE INDEX IF NOT EXISTS docs_age ON docs(age)'); },
      async setField(id, field, value) {
        const r = upd.run(`$.${field}`, value, id);
        if (r.changes !== 1) throw new Error(`UPDATE changed ${r.changes} rows for id ${id}`);
      },
      async count() { return cnt.get(); },
      async persist() {},
      async close() { db.close(); },
    };
  },
};
