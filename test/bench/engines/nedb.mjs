// @seald-io/nedb persistent datastore. Every write appends a line to the datafile (fs.appendFile,
// no fsync). Loading a datafile rewrites (compacts) it, that rewrite is fsync'ed.
import Datastore from '@seald-io/nedb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default {
  name: 'nedb',
  async open(dir) {
    mkdirSync(dir, { recursive: true });
    const ds = new Datastore({ filename: join(dir, 'bench.db') });
    await ds.loadDatabaseAsync();
    return {
      insert: (doc) => ds.insertAsync(doc),
      insertMany: (docs) => ds.insertAsync(docs),
      getById: (id) => ds.findOneAsync({ _id: id }),
      findAgeRange: (lo, hi) => ds.findAsync({ age: { $gte: lo, $lt: hi } }),
      createAgeIndex: () => ds.ensureIndexAsync({ fieldName: 'age' }),
      async setField(id, field, value) {
        const n = await ds.updateAsync({ _id: id }, { $set: { [field]: value } });
        const changed = typeof n === 'number' ? n : n?.numAffected;
        if (changed !== 1) throw new Error(`update changed ${changed} docs for id ${id}`);
      },
      count: () => ds.countAsync({}),
      persist: async () => {},
      // NeDB has no close(); every write is already appended. Wait for queued work to drain.
      close: async () => { await ds.executor.pushAsync(async () => {}); },
    };
  },
};
