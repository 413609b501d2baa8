// LokiJS with its fs adapter, autosave off. Data lives in memory; persistence is saveDatabase(),
// which serialises the WHOLE database to `file~` and renames it over `file` (no fsync).
// The harness calls persist() (= saveDatabase) once at the end of every write workload and
// counts that time in the workload; single writes in between are memory-only.
import loki from 'lokijs';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const call = (fn) => new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

export default {
  name: 'lokijs',
  async open(dir) {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'bench.json');
    const db = new loki(file, { adapter: new loki.LokiFsAdapter(), autosave: false, autoload: false });
    if (existsSync(file)) await call((cb) => db.loadDatabase({}, cb));
    const col = db.getCollection('bench') ?? db.addCollection('bench', { unique: ['_id'] });
    return {
      async insert(doc) { return col.insert(doc); },
      async insertMany(docs) { return col.insert(docs); },
      async getById(id) { return col.by('_id', id) ?? null; },
      // {$gte, $lt} on one field is not supported by LokiJS' find(); $between is inclusive, ages are integers.
      async findAgeRange(lo, hi) { return col.find({ age: { $between: [lo, hi - 1] } }); },
      async createAgeIndex() { col.ensureIndex('age'); },
      async setField(id, field, value) {
        const doc = col.by('_id', id);
        if (!doc) throw new Error(`no document ${id}`);
        doc[field] = value;
        col.update(doc);
      },
      async count() { return col.count(); },
      persist: () => call((cb) => db.saveDatabase(cb)),
      close: () => call((cb) => db.close(cb)),
    };
  },
};
