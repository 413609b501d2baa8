/**
 * Runs one query of a query file against an open database, with the engine's own `find`,
 * `count`, `updateMany` and `deleteMany` (each write one atomic commit). No VS Code dependency:
 * the extension asks for confirmation between {@link countTouched} and {@link runQuery}.
 */
import type { Doc, QueryExplain, WiseJSON } from '../../engine';
import { WiseJSONError } from '../../engine';
import type { FileQuery } from './query-file';

/** The JSON view of a `find` shows at most this many documents (the grid shows them all). */
export const SHOWN_DOCUMENTS = 1000;

export type QueryOutcome =
  | { kind: 'find'; documents: Doc[]; /** How the engine found them. */ explain: QueryExplain; ms: number }
  | { kind: 'count'; count: number; ms: number }
  | { kind: 'update'; matched: number; modified: number; ms: number }
  | { kind: 'delete'; deleted: number; ms: number };

export class QueryRunError extends WiseJSONError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/**
 * The collection `name` of `db`; refuses a missing one rather than creating it, saying which
 * there are. `owner` names the database in the message, `advice` ends it.
 */
export async function existingCollection(db: WiseJSON, name: unknown, owner = 'The database', advice = '') {
  const names = await db.getCollectionNames();
  if (typeof name !== 'string' || !names.includes(name)) {
    const known = names.filter((n) => !n.startsWith('_'));
    throw new QueryRunError('NO_COLLECTION', `${owner} has no collection ${JSON.stringify(name)}${known.length > 0 ? `; its collections: ${known.join(', ')}` : ' (it has none yet)'}.${advice ? ` ${advice}` : ''}`);
  }
  return db.collection(name);
}

/** The collection a query names. */
const collectionOf = (db: WiseJSON, query: FileQuery) => existingCollection(db, query.collection, 'The database', 'Fix "collection" in the query.');

/** How many documents an `update` or `delete` would touch now (for the confirmation). */
export async function countTouched(db: WiseJSON, query: FileQuery): Promise<number> {
  return (await collectionOf(db, query)).count(query.filter);
}

/** Runs `query`; a `find` says how the engine found its documents (`explain`). */
export async function runQuery(db: WiseJSON, query: FileQuery): Promise<QueryOutcome> {
  const coll = await collectionOf(db, query);
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  switch (query.kind) {
    case 'find': {
      const { docs, explain } = await coll.explain(query.filter, query.projection ?? null, { sort: query.sort, skip: query.skip, limit: query.limit });
      return { kind: 'find', documents: docs, explain, ms: ms() };
    }
    case 'count':
      return { kind: 'count', count: await coll.count(query.filter), ms: ms() };
    case 'update': {
      const r = await coll.updateMany(query.filter, query.with ?? {});
      return { kind: 'update', matched: r.matchedCount, modified: r.modifiedCount, ms: ms() };
    }
    case 'delete':
      return { kind: 'delete', deleted: (await coll.deleteMany(query.filter)).deletedCount, ms: ms() };
  }
}

/** A one-line summary: "12 documents in 3.1 ms", "3 documents deleted in 4 ms", … */
export function describeOutcome(o: QueryOutcome): string {
  switch (o.kind) {
    case 'find':
      return `${plural(o.documents.length, 'document', 'documents')} in ${o.ms} ms`;
    case 'count':
      return `count ${o.count} in ${o.ms} ms`;
    case 'update':
      return `${plural(o.modified, 'document', 'documents')} updated (${o.matched} matched) in ${o.ms} ms`;
    case 'delete':
      return `${plural(o.deleted, 'document', 'documents')} deleted in ${o.ms} ms`;
  }
}

/**
 * The outcome as JSON text, with its summary: a find's documents (at most
 * {@link SHOWN_DOCUMENTS}: "first 1000 of 12345 documents"), or the count, or what a write did.
 */
export function outcomeJson(o: QueryOutcome): { text: string; summary: string } {
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  switch (o.kind) {
    case 'find': {
      const shown = o.documents.length > SHOWN_DOCUMENTS ? o.documents.slice(0, SHOWN_DOCUMENTS) : o.documents;
      const summary = shown.length < o.documents.length ? `first ${shown.length} of ${o.documents.length} documents in ${o.ms} ms` : describeOutcome(o);
      return { text: json(shown), summary };
    }
    case 'count':
      return { text: json({ count: o.count }), summary: describeOutcome(o) };
    case 'update':
      return { text: json({ matched: o.matched, modified: o.modified }), summary: describeOutcome(o) };
    case 'delete':
      return { text: json({ deleted: o.deleted }), summary: describeOutcome(o) };
  }
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
