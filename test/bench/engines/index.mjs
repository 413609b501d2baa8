// Registry of benchmarked engines. Every adapter module default-exports:
//   { name, async open(dir) -> Handle }
// (labels and durability notes for the report live in ../report.mjs)
// and every Handle implements the same async interface:
//   insert(doc) -> doc             one write, via the engine's normal (durable if it has one) path
//   insertMany(docs) -> docs|n     one batch
//   getById(id) -> doc|null
//   findAgeRange(lo, hi) -> docs   docs with lo <= age < hi, as plain objects
//   createAgeIndex()               secondary index on `age`
//   setField(id, field, value)     update one document by id ($set of one field)
//   count() -> number
//   persist()                      whatever the engine needs so far-written data reaches its files
//                                  (no-op for engines that persist every write; LokiJS: saveDatabase)
//   close()
export const ENGINES = ['wisejson', 'sqlite', 'nedb', 'lokijs'];

const ALIASES = {
  ours: 'wisejson', wise: 'wisejson', 'wise-json': 'wisejson',
  'better-sqlite3': 'sqlite', sqlite3: 'sqlite',
  loki: 'lokijs',
  '@seald-io/nedb': 'nedb',
  fdatasync: 'disk', baseline: 'disk',
};

export function canonicalName(name) {
  const n = String(name).trim().toLowerCase();
  return ALIASES[n] ?? n;
}

export async function loadEngine(name) {
  switch (canonicalName(name)) {
    case 'wisejson': return (await import('./wisejson.mjs')).default;
    case 'sqlite': return (await import('./sqlite.mjs')).default;
    case 'nedb': return (await import('./nedb.mjs')).default;
    case 'lokijs': return (await import('./lokijs.mjs')).default;
    default: throw new Error(`unknown engine "${name}" (known: ${ENGINES.join(', ')}, disk)`);
  }
}
