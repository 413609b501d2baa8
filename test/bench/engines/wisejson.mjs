// WiseJSON (ours), loaded from the esbuild bundle dist/wise-json.js (CommonJS, module.exports = WiseJSON).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// WISEJSON_DIST=<path> benchmarks another build of the same API (used to test the harness itself).
export const DIST = process.env.WISEJSON_DIST || fileURLToPath(new URL('../../../dist/wise-json.js', import.meta.url));

function loadClass() {
  if (!existsSync(DIST)) {
    throw new Error(`${DIST} does not exist. Build the engine first (npm run build / node esbuild.mjs), ` +
      'or exclude it with --only=sqlite,nedb,lokijs,disk');
  }
  const WiseJSON = createRequire(import.meta.url)(DIST);
  if (typeof WiseJSON !== 'function') {
    throw new Error(`${DIST}: module.exports should be the WiseJSON class, got ${typeof WiseJSON}` +
      (WiseJSON && typeof WiseJSON === 'object' ? ` with keys [${Object.keys(WiseJSON).join(', ')}]` : ''));
  }
  return WiseJSON;
}

export default {
  name: 'wisejson',
  async open(dir) {
    const WiseJSON = loadClass();
    const db = new WiseJSON(dir);
    await db.init();
    const col = await db.collection('bench');
    return {
      insert: (doc) => col.insert(doc),
      insertMany: (docs) => col.insertMany(docs),
      getById: (id) => col.getById(id),
      findAgeRange: (lo, hi) => col.find({ age: { $gte: lo, $lt: hi } }),
      createAgeIndex: () => col.createIndex('age', { unique: false }),
      setField: (id, field, value) => col.updateOne({ _id: id }, { $set: { [field]: value } }),
      count: () => col.count(),
      persist: async () => {},
      close: () => db.close(),
    };
  },
};
